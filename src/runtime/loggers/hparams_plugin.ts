/**
 * The three summaries behind TensorBoard's HParams dashboard, as PyTorch's
 * `torch.utils.tensorboard.summary.hparams` builds them for Lightning's `log_hyperparams`.
 *
 * The dashboard reads an *experiment* summary (which hyperparameters and metrics exist, with
 * their types), a *session start* summary (this run's values) and a *session end* summary (its
 * status). Each is a `Summary.Value` with no data, only `metadata.plugin_data` naming the
 * `hparams` plugin and carrying a serialized `HParamsPluginData`. The metrics named in the
 * experiment are ordinary scalar series logged under the same tags (`hp_metric` by default).
 */
import {
  HParamDataType,
  HParamStatus,
  encodeHParamsPluginData,
  type HParamsPluginDataMessage,
  type StructValueMessage,
  type SummaryMessage,
} from "./event_protos.ts";
import type { HparamScalar } from "./params.ts";

export const HPARAMS_PLUGIN_NAME = "hparams";
export const EXPERIMENT_TAG = "_hparams_/experiment";
export const SESSION_START_INFO_TAG = "_hparams_/session_start_info";
export const SESSION_END_INFO_TAG = "_hparams_/session_end_info";

export interface HparamsSummaries {
  experiment: SummaryMessage;
  sessionStartInfo: SummaryMessage;
  sessionEndInfo: SummaryMessage;
}

/**
 * Summaries describing a run with hyperparameters `hparams` (already flattened and sanitized)
 * tracked against the metric series named in `metrics`.
 */
export function hparamsSummaries(
  hparams: Readonly<Record<string, HparamScalar>>,
  metrics: Readonly<Record<string, unknown>>,
): HparamsSummaries {
  const values: Record<string, StructValueMessage> = {};
  const hparamInfos: Array<{ name: string; type: number }> = [];
  for (const [name, value] of Object.entries(hparams)) {
    // PyTorch tests `isinstance(v, (int, float))` first, and in Python a bool is an int, so it
    // stores booleans as numbers 0/1; the plugin has a proper boolean kind, which is used here
    // so the dashboard shows `true` and offers a boolean filter.
    if (typeof value === "boolean") {
      values[name] = { bool_value: value };
      hparamInfos.push({ name, type: HParamDataType.DATA_TYPE_BOOL });
    } else if (typeof value === "number") {
      values[name] = { number_value: value };
      hparamInfos.push({ name, type: HParamDataType.DATA_TYPE_FLOAT64 });
    } else {
      values[name] = { string_value: value };
      hparamInfos.push({ name, type: HParamDataType.DATA_TYPE_STRING });
    }
  }

  return {
    experiment: pluginSummary(EXPERIMENT_TAG, {
      experiment: {
        hparam_infos: hparamInfos,
        metric_infos: Object.keys(metrics).map((tag) => ({ name: { tag } })),
      },
    }),
    sessionStartInfo: pluginSummary(SESSION_START_INFO_TAG, { session_start_info: { hparams: values } }),
    sessionEndInfo: pluginSummary(SESSION_END_INFO_TAG, {
      session_end_info: { status: HParamStatus.STATUS_SUCCESS },
    }),
  };
}

function pluginSummary(tag: string, data: HParamsPluginDataMessage): SummaryMessage {
  // `version` is left unset: the plugin's data version is 0, the proto3 default, which
  // TensorBoard's own writer does not put on the wire either.
  const content = encodeHParamsPluginData(data);
  return { value: [{ tag, metadata: { plugin_data: { plugin_name: HPARAMS_PLUGIN_NAME, content } } }] };
}
