/**
 * The protobuf messages of TensorBoard event files, built in code with protobufjs's reflection
 * API (no .proto files to ship or load, no generated code to keep in sync).
 *
 * Field names and numbers are those of TensorBoard's own definitions:
 *   tensorboard/compat/proto/event.proto, summary.proto            (Event, Summary, metadata,
 *                                                                   Image, HistogramProto)
 *   tensorboard/compat/proto/tensor.proto, tensor_shape.proto       (the text plugin's tensor)
 *   tensorboard/plugins/hparams/plugin_data.proto, api.proto       (HParams dashboard)
 *   google/protobuf/struct.proto                                   (hparam values)
 * Only the fields lightning-ts writes are declared; a reader ignores fields it does not know, and
 * an absent field reads as its default, so the subset is wire-compatible with the full messages.
 */
import protobuf from "protobufjs";

const root = protobuf.Root.fromJSON({
  nested: {
    tensorboard: {
      nested: {
        Event: {
          oneofs: { what: { oneof: ["file_version", "summary"] } },
          fields: {
            wall_time: { type: "double", id: 1 },
            step: { type: "int64", id: 2 },
            file_version: { type: "string", id: 3 },
            summary: { type: "Summary", id: 5 },
            source_metadata: { type: "SourceMetadata", id: 10 },
          },
        },
        SourceMetadata: {
          fields: { writer: { type: "string", id: 1 } },
        },
        Summary: {
          fields: { value: { rule: "repeated", type: "Value", id: 1 } },
          nested: {
            Value: {
              oneofs: { value: { oneof: ["simple_value", "image", "histo", "tensor"] } },
              fields: {
                tag: { type: "string", id: 1 },
                simple_value: { type: "float", id: 2 },
                image: { type: "Image", id: 4 },
                histo: { type: "HistogramProto", id: 5 },
                tensor: { type: "TensorProto", id: 8 },
                metadata: { type: "SummaryMetadata", id: 9 },
              },
            },
            Image: {
              fields: {
                height: { type: "int32", id: 1 },
                width: { type: "int32", id: 2 },
                colorspace: { type: "int32", id: 3 },
                encoded_image_string: { type: "bytes", id: 4 },
              },
            },
          },
        },
        HistogramProto: {
          fields: {
            min: { type: "double", id: 1 },
            max: { type: "double", id: 2 },
            num: { type: "double", id: 3 },
            sum: { type: "double", id: 4 },
            sum_squares: { type: "double", id: 5 },
            bucket_limit: { rule: "repeated", type: "double", id: 6, options: { packed: true } },
            bucket: { rule: "repeated", type: "double", id: 7, options: { packed: true } },
          },
        },
        TensorProto: {
          fields: {
            dtype: { type: "int32", id: 1 },
            tensor_shape: { type: "TensorShapeProto", id: 2 },
            string_val: { rule: "repeated", type: "bytes", id: 8 },
          },
        },
        TensorShapeProto: {
          fields: { dim: { rule: "repeated", type: "Dim", id: 2 } },
          nested: { Dim: { fields: { size: { type: "int64", id: 1 } } } },
        },
        SummaryMetadata: {
          fields: {
            plugin_data: { type: "PluginData", id: 1 },
            display_name: { type: "string", id: 2 },
            summary_description: { type: "string", id: 3 },
          },
          nested: {
            PluginData: {
              fields: {
                plugin_name: { type: "string", id: 1 },
                content: { type: "bytes", id: 2 },
              },
            },
          },
        },
        hparams: {
          nested: {
            HParamsPluginData: {
              oneofs: { data: { oneof: ["experiment", "session_start_info", "session_end_info"] } },
              fields: {
                version: { type: "int32", id: 1 },
                experiment: { type: "Experiment", id: 2 },
                session_start_info: { type: "SessionStartInfo", id: 3 },
                session_end_info: { type: "SessionEndInfo", id: 4 },
              },
            },
            SessionStartInfo: {
              fields: {
                hparams: { keyType: "string", type: "google.protobuf.Value", id: 1 } as protobuf.IMapField,
                model_uri: { type: "string", id: 2 },
                monitor_url: { type: "string", id: 3 },
                group_name: { type: "string", id: 4 },
                start_time_secs: { type: "double", id: 5 },
              },
            },
            SessionEndInfo: {
              fields: {
                status: { type: "Status", id: 1 },
                end_time_secs: { type: "double", id: 2 },
              },
            },
            Experiment: {
              fields: {
                description: { type: "string", id: 1 },
                user: { type: "string", id: 2 },
                time_created_secs: { type: "double", id: 3 },
                hparam_infos: { rule: "repeated", type: "HParamInfo", id: 4 },
                metric_infos: { rule: "repeated", type: "MetricInfo", id: 5 },
                name: { type: "string", id: 6 },
              },
            },
            HParamInfo: {
              fields: {
                name: { type: "string", id: 1 },
                display_name: { type: "string", id: 2 },
                description: { type: "string", id: 3 },
                type: { type: "DataType", id: 4 },
              },
            },
            MetricInfo: {
              fields: {
                name: { type: "MetricName", id: 1 },
                display_name: { type: "string", id: 3 },
                description: { type: "string", id: 4 },
              },
            },
            MetricName: {
              fields: {
                group: { type: "string", id: 1 },
                tag: { type: "string", id: 2 },
              },
            },
            DataType: {
              values: { DATA_TYPE_UNSET: 0, DATA_TYPE_STRING: 1, DATA_TYPE_BOOL: 2, DATA_TYPE_FLOAT64: 3 },
            },
            Status: {
              values: { STATUS_UNKNOWN: 0, STATUS_SUCCESS: 1, STATUS_FAILURE: 2, STATUS_RUNNING: 3 },
            },
          },
        },
      },
    },
    google: {
      nested: {
        protobuf: {
          nested: {
            Value: {
              oneofs: { kind: { oneof: ["number_value", "string_value", "bool_value"] } },
              fields: {
                number_value: { type: "double", id: 2 },
                string_value: { type: "string", id: 3 },
                bool_value: { type: "bool", id: 4 },
              },
            },
          },
        },
      },
    },
  },
});

// -- message shapes (proto field names; unset fields are left out, as proto3 writers do) ------

export interface PluginDataMessage {
  plugin_name: string;
  content?: Uint8Array;
}

export interface SummaryMetadataMessage {
  plugin_data?: PluginDataMessage;
  display_name?: string;
  summary_description?: string;
}

export interface ImageMessage {
  height: number;
  width: number;
  colorspace: number;
  encoded_image_string: Uint8Array;
}

export interface HistogramMessage {
  min: number;
  max: number;
  num: number;
  sum: number;
  sum_squares: number;
  bucket_limit: number[];
  bucket: number[];
}

/** tensorflow.DataType's DT_STRING (types.proto). */
export const DT_STRING = 7;

export interface TensorMessage {
  dtype: number;
  tensor_shape: { dim: Array<{ size: number }> };
  string_val: Uint8Array[];
}

export interface SummaryValueMessage {
  tag: string;
  simple_value?: number;
  image?: ImageMessage;
  histo?: HistogramMessage;
  tensor?: TensorMessage;
  metadata?: SummaryMetadataMessage;
}

export interface SummaryMessage {
  value: SummaryValueMessage[];
}

export interface EventMessage {
  wall_time: number;
  step?: number;
  file_version?: string;
  summary?: SummaryMessage;
  source_metadata?: { writer: string };
}

/** `google.protobuf.Value`, restricted to the kinds an hparam can have. */
export type StructValueMessage = { number_value: number } | { string_value: string } | { bool_value: boolean };

export const HParamDataType = { DATA_TYPE_STRING: 1, DATA_TYPE_BOOL: 2, DATA_TYPE_FLOAT64: 3 } as const;
export const HParamStatus = { STATUS_SUCCESS: 1, STATUS_FAILURE: 2, STATUS_RUNNING: 3 } as const;

export interface HParamsPluginDataMessage {
  version?: number;
  experiment?: {
    hparam_infos: Array<{ name: string; type: number }>;
    metric_infos: Array<{ name: { tag: string; group?: string } }>;
  };
  session_start_info?: { hparams: Record<string, StructValueMessage>; start_time_secs?: number };
  session_end_info?: { status: number; end_time_secs?: number };
}

const EventType = root.lookupType("tensorboard.Event");
const HParamsPluginDataType = root.lookupType("tensorboard.hparams.HParamsPluginData");

function encode(type: protobuf.Type, message: object): Uint8Array {
  const problem = type.verify(message);
  if (problem) throw new Error(`internal: invalid ${type.name} message: ${problem}`);
  return type.encode(type.fromObject(message as Record<string, unknown>)).finish();
}

/** The serialized `tensorboard.Event`. */
export function encodeEvent(event: EventMessage): Uint8Array {
  return encode(EventType, event);
}

/** A serialized `tensorboard.Event` as a plain object (proto field names; int64 as numbers). */
export function decodeEvent(bytes: Uint8Array): EventMessage {
  return EventType.toObject(EventType.decode(bytes), { longs: Number, bytes: Uint8Array as unknown as typeof String }) as EventMessage;
}

/** The serialized `tensorboard.hparams.HParamsPluginData` (the `content` of hparams summaries). */
export function encodeHParamsPluginData(data: HParamsPluginDataMessage): Uint8Array {
  return encode(HParamsPluginDataType, data);
}
