/**
 * A reader for TensorBoard event files that shares no code with the writer under test: its own
 * bitwise CRC-32C (no lookup table), its own TFRecord de-framing that checks both masked
 * checksums of every record, and its own protobuf wire-format decoder (no protobufjs). If the
 * writer and this reader agree, the file follows the published formats, not merely the writer's
 * own idea of them.
 */
import * as fs from "node:fs";

// -- CRC-32C, bit by bit ---------------------------------------------------------------------

/** CRC-32C computed one bit at a time from the reflected polynomial 0x82F63B78. */
export function crc32cBitwise(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) {
      const lsb = crc & 1;
      crc >>>= 1;
      if (lsb) crc ^= 0x82f63b78;
    }
  }
  return ~crc >>> 0;
}

/** TFRecord's mask, written out with BigInt arithmetic to stay clear of 32-bit tricks. */
export function maskBitwise(crc: number): number {
  const c = BigInt(crc);
  const rotated = ((c >> 15n) | (c << 17n)) & 0xffffffffn;
  return Number((rotated + 0xa282ead8n) & 0xffffffffn);
}

// -- TFRecord --------------------------------------------------------------------------------

/** The data of each record in `buf`; throws on a bad checksum or a truncated record. */
export function readTfRecords(buf: Uint8Array): Uint8Array[] {
  const records: Uint8Array[] = [];
  let pos = 0;
  const u32 = (at: number) => (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0;
  while (pos < buf.length) {
    if (pos + 12 > buf.length) throw new Error(`truncated record header at ${pos}`);
    const lengthBytes = buf.subarray(pos, pos + 8);
    let length = 0n;
    for (let i = 7; i >= 0; i--) length = (length << 8n) | BigInt(lengthBytes[i]);
    const lengthCrc = u32(pos + 8);
    if (lengthCrc !== maskBitwise(crc32cBitwise(lengthBytes))) throw new Error(`bad length checksum at ${pos}`);
    const n = Number(length);
    const start = pos + 12;
    if (start + n + 4 > buf.length) throw new Error(`truncated record data at ${pos}`);
    const data = buf.subarray(start, start + n);
    if (u32(start + n) !== maskBitwise(crc32cBitwise(data))) throw new Error(`bad data checksum at ${pos}`);
    records.push(data);
    pos = start + n + 4;
  }
  return records;
}

// -- protobuf wire format --------------------------------------------------------------------

export type WireValue =
  | { wireType: 0; varint: bigint }
  | { wireType: 1; bytes: Uint8Array }
  | { wireType: 2; bytes: Uint8Array }
  | { wireType: 5; bytes: Uint8Array };

/** Every field of one message, by field number, in wire order. */
export function decodeWire(buf: Uint8Array): Map<number, WireValue[]> {
  const fields = new Map<number, WireValue[]>();
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new Error("truncated varint");
      const b = buf[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new Error("varint too long");
    }
  };
  const take = (n: number) => {
    if (pos + n > buf.length) throw new Error("truncated field");
    const out = buf.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  while (pos < buf.length) {
    const key = varint();
    const fieldNumber = Number(key >> 3n);
    const wireType = Number(key & 7n);
    let value: WireValue;
    if (wireType === 0) value = { wireType, varint: varint() };
    else if (wireType === 1) value = { wireType, bytes: take(8) };
    else if (wireType === 2) value = { wireType, bytes: take(Number(varint())) };
    else if (wireType === 5) value = { wireType, bytes: take(4) };
    else throw new Error(`unsupported wire type ${wireType} for field ${fieldNumber}`);
    const list = fields.get(fieldNumber) ?? [];
    list.push(value);
    fields.set(fieldNumber, list);
  }
  return fields;
}

function single(fields: Map<number, WireValue[]>, n: number): WireValue | undefined {
  const list = fields.get(n);
  return list?.[list.length - 1];
}
function asDouble(v: WireValue | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (v.wireType !== 1) throw new Error(`expected fixed64, got wire type ${v.wireType}`);
  return new DataView(v.bytes.buffer, v.bytes.byteOffset, 8).getFloat64(0, true);
}
function asFloat(v: WireValue | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (v.wireType !== 5) throw new Error(`expected fixed32, got wire type ${v.wireType}`);
  return new DataView(v.bytes.buffer, v.bytes.byteOffset, 4).getFloat32(0, true);
}
function asVarint(v: WireValue | undefined): bigint | undefined {
  if (v === undefined) return undefined;
  if (v.wireType !== 0) throw new Error(`expected varint, got wire type ${v.wireType}`);
  return v.varint;
}
function asBytes(v: WireValue | undefined): Uint8Array | undefined {
  if (v === undefined) return undefined;
  if (v.wireType !== 2) throw new Error(`expected length-delimited, got wire type ${v.wireType}`);
  return v.bytes;
}
function asString(v: WireValue | undefined): string | undefined {
  const b = asBytes(v);
  return b === undefined ? undefined : new TextDecoder("utf-8", { fatal: true }).decode(b);
}

// -- TensorBoard messages (field numbers from event.proto / summary.proto) -------------------

export interface DecodedValue {
  tag: string;
  simpleValue?: number;
  pluginName?: string;
  pluginContent?: Uint8Array;
  /** Summary.Image (field 4). */
  image?: { height: number; width: number; colorspace: number; encoded: Uint8Array };
  /** HistogramProto (field 5). */
  histo?: { min: number; max: number; num: number; sum: number; sumSquares: number; bucketLimit: number[]; bucket: number[] };
  /** TensorProto (field 8): dtype, shape, string values. */
  tensor?: { dtype: number; shape: number[]; strings: string[] };
}

/** A packed (or unpacked) repeated double field. */
function doubles(list: WireValue[] | undefined): number[] {
  const out: number[] = [];
  for (const v of list ?? []) {
    if (v.wireType === 1) out.push(asDouble(v)!);
    else {
      const b = asBytes(v)!;
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let i = 0; i < b.byteLength; i += 8) out.push(view.getFloat64(i, true));
    }
  }
  return out;
}

export interface DecodedEvent {
  wallTime: number;
  /** Absent on the wire means 0 (proto3 default). */
  step: bigint;
  fileVersion?: string;
  sourceWriter?: string;
  values?: DecodedValue[];
}

export function decodeEvent(buf: Uint8Array): DecodedEvent {
  const f = decodeWire(buf);
  const event: DecodedEvent = {
    wallTime: asDouble(single(f, 1)) ?? 0,
    step: asVarint(single(f, 2)) ?? 0n,
    fileVersion: asString(single(f, 3)),
  };
  const source = asBytes(single(f, 10));
  if (source) event.sourceWriter = asString(single(decodeWire(source), 1));
  const summary = asBytes(single(f, 5));
  if (summary) {
    event.values = (decodeWire(summary).get(1) ?? []).map((entry) => {
      const vf = decodeWire(asBytes(entry)!);
      const value: DecodedValue = { tag: asString(single(vf, 1)) ?? "" };
      const simple = asFloat(single(vf, 2));
      if (simple !== undefined) value.simpleValue = simple;
      const image = asBytes(single(vf, 4));
      if (image) {
        const imf = decodeWire(image);
        value.image = {
          height: Number(asVarint(single(imf, 1)) ?? 0n),
          width: Number(asVarint(single(imf, 2)) ?? 0n),
          colorspace: Number(asVarint(single(imf, 3)) ?? 0n),
          encoded: asBytes(single(imf, 4)) ?? new Uint8Array(),
        };
      }
      const histo = asBytes(single(vf, 5));
      if (histo) {
        const hf = decodeWire(histo);
        value.histo = {
          min: asDouble(single(hf, 1)) ?? 0,
          max: asDouble(single(hf, 2)) ?? 0,
          num: asDouble(single(hf, 3)) ?? 0,
          sum: asDouble(single(hf, 4)) ?? 0,
          sumSquares: asDouble(single(hf, 5)) ?? 0,
          bucketLimit: doubles(hf.get(6)),
          bucket: doubles(hf.get(7)),
        };
      }
      const tensor = asBytes(single(vf, 8));
      if (tensor) {
        const tf_ = decodeWire(tensor);
        const shape = asBytes(single(tf_, 2));
        value.tensor = {
          dtype: Number(asVarint(single(tf_, 1)) ?? 0n),
          shape: shape ? (decodeWire(shape).get(2) ?? []).map((d) => Number(asVarint(single(decodeWire(asBytes(d)!), 1)) ?? 0n)) : [],
          strings: (tf_.get(8) ?? []).map((v) => asString(v)!),
        };
      }
      const metadata = asBytes(single(vf, 9));
      if (metadata) {
        const pluginData = asBytes(single(decodeWire(metadata), 1));
        if (pluginData) {
          const pf = decodeWire(pluginData);
          value.pluginName = asString(single(pf, 1));
          value.pluginContent = asBytes(single(pf, 2)) ?? new Uint8Array();
        }
      }
      return value;
    });
  }
  return event;
}

export function readEventFile(file: string): DecodedEvent[] {
  return readTfRecords(new Uint8Array(fs.readFileSync(file))).map(decodeEvent);
}

// -- HParams plugin data (field numbers from plugin_data.proto / api.proto / struct.proto) ---

export type DecodedHparamValue = number | string | boolean;

export interface DecodedHParamsPluginData {
  version: bigint;
  experiment?: { hparamInfos: Array<{ name: string; type: number }>; metricTags: string[] };
  sessionStartHparams?: Record<string, DecodedHparamValue>;
  sessionEndStatus?: number;
}

function decodeStructValue(buf: Uint8Array): DecodedHparamValue {
  const f = decodeWire(buf);
  if (f.has(2)) return asDouble(single(f, 2))!;
  if (f.has(3)) return asString(single(f, 3))!;
  if (f.has(4)) return asVarint(single(f, 4)) !== 0n;
  throw new Error(`unexpected google.protobuf.Value fields ${[...f.keys()].join(",")}`);
}

export function decodeHParamsPluginData(buf: Uint8Array): DecodedHParamsPluginData {
  const f = decodeWire(buf);
  const out: DecodedHParamsPluginData = { version: asVarint(single(f, 1)) ?? 0n };
  const experiment = asBytes(single(f, 2));
  if (experiment) {
    const ef = decodeWire(experiment);
    out.experiment = {
      hparamInfos: (ef.get(4) ?? []).map((e) => {
        const hf = decodeWire(asBytes(e)!);
        return { name: asString(single(hf, 1)) ?? "", type: Number(asVarint(single(hf, 4)) ?? 0n) };
      }),
      metricTags: (ef.get(5) ?? []).map((e) => {
        const name = asBytes(single(decodeWire(asBytes(e)!), 1))!;
        return asString(single(decodeWire(name), 2)) ?? "";
      }),
    };
  }
  const start = asBytes(single(f, 3));
  if (start) {
    out.sessionStartHparams = {};
    // map<string, Value> is a repeated entry message {key = 1, value = 2}.
    for (const entry of decodeWire(start).get(1) ?? []) {
      const mf = decodeWire(asBytes(entry)!);
      out.sessionStartHparams[asString(single(mf, 1)) ?? ""] = decodeStructValue(asBytes(single(mf, 2))!);
    }
  }
  const end = asBytes(single(f, 4));
  if (end) out.sessionEndStatus = Number(asVarint(single(decodeWire(end), 1)) ?? 0n);
  return out;
}
