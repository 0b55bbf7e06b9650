/**
 * The lightning-ts checkpoint format (version 1). Full description: docs/checkpoint-format.md.
 *
 *   offset 0   8 bytes   magic, ASCII "LTSCKPT1" (the final "1" is the format version)
 *   offset 8   4 bytes   H, uint32 little-endian: byte length of the header
 *   offset 12  H bytes   header, UTF-8 JSON (padded with spaces so 12 + H is a multiple of 8)
 *   offset D            tensor data, D = 12 + H rounded up to a multiple of 8; each blob at
 *                       D + byteOffset (a multiple of 8), little-endian, row-major; zero padding
 *                       between blobs; the file ends at D + dataLength exactly.
 *
 * Header: { format: "lightning-ts-checkpoint", version: 1, dataLength, dataCrc32,
 *           tensors: [{ dtype, shape, byteOffset, byteLength }],
 *           arrays:  [{ type, length, byteOffset, byteLength }],
 *           root }
 * `root` is the saved value as JSON with placeholders: { "__tensor__": i } (a tf.Tensor, entry
 * i of `tensors`), { "__array__": i } (a typed array), { "__number__": "NaN" | "Infinity" |
 * "-Infinity" | "-0" } (numbers JSON cannot hold), and { "__object__": {...} } (a user object
 * whose only key happens to be one of these marker names). dataCrc32 is the CRC-32 (zlib's) of
 * the whole data section, so a flipped bit is an error, not silently wrong weights.
 *
 * This module is pure: bytes in, bytes out. Saving to disk is index.ts.
 */
import * as os from "node:os";
import * as zlib from "node:zlib";
import { tf } from "../tf.ts";

export const MAGIC = "LTSCKPT1";
export const FORMAT_NAME = "lightning-ts-checkpoint";
export const FORMAT_VERSION = 1;
const PREAMBLE = 12;

export class CheckpointFormatError extends Error {
  override name = "CheckpointFormatError";
}

type TensorDtype = "float32" | "int32" | "bool";
const tensorElementSize: Record<TensorDtype, number> = { float32: 4, int32: 4, bool: 1 };

const arrayTypes = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;
type ArrayTypeName = keyof typeof arrayTypes;
type AnyTypedArray = InstanceType<(typeof arrayTypes)[ArrayTypeName]>;

interface TensorEntry {
  dtype: TensorDtype;
  shape: number[];
  byteOffset: number;
  byteLength: number;
}
interface ArrayEntry {
  type: ArrayTypeName;
  length: number;
  byteOffset: number;
  byteLength: number;
}
interface Header {
  format: string;
  version: number;
  dataLength: number;
  dataCrc32: number;
  tensors: TensorEntry[];
  arrays: ArrayEntry[];
  root: unknown;
}

const MARKERS = new Set(["__tensor__", "__array__", "__number__", "__object__"]);
const hostLittleEndian = os.endianness() === "LE";

/** `o[k] = v` that stores a key named "__proto__" as data instead of changing the prototype. */
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === "__proto__") Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

function typedArrayName(v: ArrayBufferView): ArrayTypeName | null {
  for (const name of Object.keys(arrayTypes) as ArrayTypeName[]) {
    if (v instanceof arrayTypes[name]) return name;
  }
  return null;
}

/** Bytes of a typed array in little-endian order (a view when the host is little-endian). */
function littleEndianBytes(v: ArrayBufferView, elementSize: number): Uint8Array {
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (hostLittleEndian || elementSize === 1) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += elementSize) {
    for (let k = 0; k < elementSize; k++) out[i + k] = bytes[i + elementSize - 1 - k];
  }
  return out;
}

/** The structure of a value to save: JSON root plus the tensors and arrays it references. */
export interface CheckpointPlan {
  root: unknown;
  tensors: tf.Tensor[];
  arrays: AnyTypedArray[];
}

/**
 * Walks `obj` (JSON semantics: plain data, objects' own enumerable keys, `toJSON` honoured,
 * `undefined` dropped from objects and written as null in arrays) and replaces tensors and
 * typed arrays by placeholders. The same tensor reached twice is stored once and loads as one
 * tensor. Functions, symbols, bigints, Maps, Sets and cycles are errors naming the path.
 */
export function planCheckpoint(obj: unknown, who = "save"): CheckpointPlan {
  const tensors: tf.Tensor[] = [];
  const tensorIndex = new Map<tf.Tensor, number>();
  const arrays: AnyTypedArray[] = [];
  const arrayIndex = new Map<AnyTypedArray, number>();
  const ancestors = new Set<object>();

  const fail = (path: string, what: string): never => {
    throw new CheckpointFormatError(`${who}: cannot save ${what} at ${path}`);
  };

  const walk = (v: unknown, path: string): unknown => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return v;
      case "number":
        if (Number.isNaN(v)) return { __number__: "NaN" };
        if (v === Infinity) return { __number__: "Infinity" };
        if (v === -Infinity) return { __number__: "-Infinity" };
        if (Object.is(v, -0)) return { __number__: "-0" };
        return v;
      case "undefined":
        return undefined;
      case "bigint":
        return fail(path, "a bigint (JSON has no bigint; use a BigInt64Array or a string)");
      case "function":
        return fail(path, "a function");
      case "symbol":
        return fail(path, "a symbol");
    }
    if (v === null) return null;
    const o = v as object;
    if (o instanceof tf.Tensor) {
      if (o.isDisposed) fail(path, "a disposed tensor");
      if (!(o.dtype in tensorElementSize)) fail(path, `a ${o.dtype} tensor (supported: float32, int32, bool)`);
      let i = tensorIndex.get(o);
      if (i === undefined) {
        i = tensors.push(o) - 1;
        tensorIndex.set(o, i);
      }
      return { __tensor__: i };
    }
    if (ArrayBuffer.isView(o)) {
      const name = typedArrayName(o);
      if (name === null) return fail(path, `a ${o.constructor.name} (supported: typed arrays)`);
      let i = arrayIndex.get(o as AnyTypedArray);
      if (i === undefined) {
        i = arrays.push(o as AnyTypedArray) - 1;
        arrayIndex.set(o as AnyTypedArray, i);
      }
      return { __array__: i };
    }
    if (o instanceof Map || o instanceof Set || o instanceof WeakMap || o instanceof WeakSet) {
      return fail(path, `a ${o.constructor.name} (not JSON-able: convert it to an object or array)`);
    }
    if (o instanceof ArrayBuffer) return fail(path, "an ArrayBuffer (wrap it in a Uint8Array)");
    if (typeof (o as { toJSON?: unknown }).toJSON === "function") {
      return walk((o as { toJSON(key: string): unknown }).toJSON(""), path);
    }
    if (ancestors.has(o)) return fail(path, "a circular reference");
    ancestors.add(o);
    try {
      if (Array.isArray(o)) {
        return o.map((item, k) => {
          const w = walk(item, `${path}[${k}]`);
          return w === undefined ? null : w;
        });
      }
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(o)) {
        const w = walk((o as Record<string, unknown>)[k], `${path}.${k}`);
        if (w !== undefined) setOwn(out, k, w);
      }
      const keys = Object.keys(out);
      // A user object shaped like one of our placeholders is wrapped so it loads as itself.
      if (keys.length === 1 && MARKERS.has(keys[0])) return { __object__: out };
      return out;
    } finally {
      ancestors.delete(o);
    }
  };

  const root = walk(obj, "root");
  if (root === undefined) throw new CheckpointFormatError(`${who}: nothing to save (the value is ${typeof obj})`);
  return { root, tensors, arrays };
}

/** Assembles the file from a plan and the tensors' values (in plan order). */
export function encodeCheckpoint(plan: CheckpointPlan, tensorValues: readonly ArrayBufferView[]): Uint8Array[] {
  const blobs: Uint8Array[] = [];
  const tensorEntries: TensorEntry[] = [];
  const arrayEntries: ArrayEntry[] = [];
  let offset = 0;
  const place = (bytes: Uint8Array): number => {
    const at = align8(offset);
    if (at > offset) blobs.push(new Uint8Array(at - offset));
    blobs.push(bytes);
    offset = at + bytes.length;
    return at;
  };
  plan.tensors.forEach((t, i) => {
    const dtype = t.dtype as TensorDtype;
    const size = tensorElementSize[dtype];
    const values = tensorValues[i];
    let bytes: Uint8Array;
    if (dtype === "bool") {
      // tfjs hands bool data back as a Uint8Array (or an Int32Array on some backends): one byte each.
      const src = values as unknown as ArrayLike<number>;
      bytes = new Uint8Array(t.size);
      for (let k = 0; k < t.size; k++) bytes[k] = src[k] ? 1 : 0;
    } else {
      bytes = littleEndianBytes(values, size);
    }
    if (bytes.length !== t.size * size) {
      throw new CheckpointFormatError(
        `save: tensor ${i} (${dtype} [${t.shape.join(", ")}]) gave ${bytes.length} bytes, expected ${t.size * size}`,
      );
    }
    tensorEntries.push({ dtype, shape: [...t.shape], byteOffset: place(bytes), byteLength: bytes.length });
  });
  plan.arrays.forEach((a) => {
    const type = typedArrayName(a)!;
    const bytes = littleEndianBytes(a, a.BYTES_PER_ELEMENT);
    arrayEntries.push({ type, length: a.length, byteOffset: place(bytes), byteLength: bytes.length });
  });
  const dataLength = offset;
  let crc = 0;
  // Skip empty blobs: Node 20's zlib.crc32 returns 0, not the running value, for an empty
  // array over a zero-length buffer (what an empty tensor's data is).
  for (const b of blobs) if (b.length > 0) crc = zlib.crc32(b, crc);
  const header: Header = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    dataLength,
    dataCrc32: crc >>> 0,
    tensors: tensorEntries,
    arrays: arrayEntries,
    root: plan.root,
  };
  let json = Buffer.from(JSON.stringify(header), "utf8");
  const padded = align8(PREAMBLE + json.length) - PREAMBLE;
  if (padded > json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const preamble = new Uint8Array(PREAMBLE);
  preamble.set(Buffer.from(MAGIC, "ascii"), 0);
  new DataView(preamble.buffer).setUint32(8, json.length, true);
  return [preamble, json, ...blobs];
}

function hexCrc(v: number): string {
  return "0x" + (v >>> 0).toString(16).padStart(8, "0");
}

function printable(bytes: Uint8Array): string {
  return JSON.stringify(Array.from(bytes, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join(""));
}

/** Parses a checkpoint file's bytes; `name` (the path) prefixes every error. */
export function decodeCheckpoint(bytes: Uint8Array, name: string): unknown {
  const err = (msg: string) => new CheckpointFormatError(`${name}: ${msg}`);
  if (bytes.length < PREAMBLE) {
    throw err(`truncated: ${bytes.length} bytes, shorter than the ${PREAMBLE}-byte preamble of a lightning-ts checkpoint`);
  }
  const magic = Buffer.from(bytes.buffer, bytes.byteOffset, 8).toString("latin1");
  if (magic !== MAGIC) {
    if (magic.startsWith("LTSCKPT")) {
      throw err(`unsupported checkpoint format version ${printable(bytes.subarray(7, 8))} (this lightning-ts reads "${MAGIC}")`);
    }
    const zip = bytes[0] === 0x50 && bytes[1] === 0x4b ? " (this is a zip archive: a PyTorch .pt file?)" : "";
    throw err(`bad magic ${printable(bytes.subarray(0, 8))} (expected "${MAGIC}": not a lightning-ts checkpoint)${zip}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  if (PREAMBLE + headerLength > bytes.length) {
    throw err(`truncated: the header declares ${headerLength} bytes, only ${bytes.length - PREAMBLE} follow the preamble`);
  }
  let header: Header;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + PREAMBLE, headerLength).toString("utf8"));
  } catch (e) {
    throw err(`header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== "object" || header.format !== FORMAT_NAME) {
    throw err(`header is not a lightning-ts checkpoint header (format ${JSON.stringify((header as Header)?.format)})`);
  }
  if (header.version !== FORMAT_VERSION) {
    throw err(`unsupported checkpoint format version ${header.version} (this lightning-ts reads ${FORMAT_VERSION})`);
  }
  if (!Number.isInteger(header.dataLength) || header.dataLength < 0 || !Array.isArray(header.tensors) || !Array.isArray(header.arrays)) {
    throw err("header is missing dataLength, tensors or arrays");
  }
  const dataStart = align8(PREAMBLE + headerLength);
  const expectedSize = dataStart + header.dataLength;
  if (bytes.length < expectedSize) {
    throw err(
      `truncated: the header declares ${header.dataLength} bytes of tensor data from offset ${dataStart} ` +
        `(${expectedSize} bytes in all), the file has ${bytes.length}`,
    );
  }
  if (bytes.length > expectedSize) {
    throw err(`${bytes.length - expectedSize} unexpected bytes after the tensor data (expected ${expectedSize} bytes in all)`);
  }
  const data = bytes.subarray(dataStart, expectedSize);
  const crc = zlib.crc32(data) >>> 0;
  if (crc !== header.dataCrc32) {
    throw err(`tensor data is corrupt: CRC-32 ${hexCrc(crc)} does not match the header's ${hexCrc(header.dataCrc32)}`);
  }

  const blob = (kind: string, i: number, byteOffset: number, byteLength: number, elementSize: number): ArrayBuffer => {
    if (
      !Number.isInteger(byteOffset) ||
      !Number.isInteger(byteLength) ||
      byteOffset < 0 ||
      byteLength < 0 ||
      byteOffset + byteLength > header.dataLength
    ) {
      throw err(`${kind} ${i}: bytes [${byteOffset}, ${byteOffset + byteLength}) lie outside the ${header.dataLength}-byte data section`);
    }
    // A copy: an aligned buffer of its own, byte-swapped on a big-endian host.
    // (Buffer's slice() is a view, hence the explicit copy.)
    const out = new Uint8Array(byteLength);
    out.set(data.subarray(byteOffset, byteOffset + byteLength));
    if (!hostLittleEndian && elementSize > 1) out.set(littleEndianBytes(out, elementSize));
    return out.buffer;
  };

  const tensorCache = new Map<number, tf.Tensor>();
  const tensorAt = (i: number): tf.Tensor => {
    const cached = tensorCache.get(i);
    if (cached) return cached;
    const e = header.tensors[i];
    if (e === undefined) throw err(`root references tensor ${i}, the header lists ${header.tensors.length}`);
    const size = tensorElementSize[e.dtype];
    if (size === undefined) throw err(`tensor ${i}: unsupported dtype ${JSON.stringify(e.dtype)} (expected float32, int32 or bool)`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw err(`tensor ${i}: bad shape ${JSON.stringify(e.shape)}`);
    }
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (e.byteLength !== count * size) {
      throw err(`tensor ${i}: ${e.byteLength} bytes for ${e.dtype} [${e.shape.join(", ")}], expected ${count * size}`);
    }
    const buf = blob("tensor", i, e.byteOffset, e.byteLength, size);
    const values = e.dtype === "float32" ? new Float32Array(buf) : e.dtype === "int32" ? new Int32Array(buf) : new Uint8Array(buf);
    const t = tf.tensor(values, e.shape, e.dtype);
    tensorCache.set(i, t);
    return t;
  };
  const arrayCache = new Map<number, AnyTypedArray>();
  const arrayAt = (i: number): AnyTypedArray => {
    const cached = arrayCache.get(i);
    if (cached) return cached;
    const e = header.arrays[i];
    if (e === undefined) throw err(`root references array ${i}, the header lists ${header.arrays.length}`);
    const ctor = Object.hasOwn(arrayTypes, e.type) ? arrayTypes[e.type] : undefined;
    if (ctor === undefined) throw err(`array ${i}: unsupported type ${JSON.stringify(e.type)}`);
    if (e.byteLength !== e.length * ctor.BYTES_PER_ELEMENT) {
      throw err(`array ${i}: ${e.byteLength} bytes for a ${e.type} of length ${e.length}`);
    }
    const a = new ctor(blob("array", i, e.byteOffset, e.byteLength, ctor.BYTES_PER_ELEMENT)) as AnyTypedArray;
    arrayCache.set(i, a);
    return a;
  };

  const specialNumbers: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity, "-0": -0 };
  const rebuild = (v: unknown): unknown => {
    if (v === null || typeof v !== "object") return v;
    if (Array.isArray(v)) return v.map(rebuild);
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const k = keys[0];
      const x = o[k];
      if (k === "__tensor__" && typeof x === "number") return tensorAt(x);
      if (k === "__array__" && typeof x === "number") return arrayAt(x);
      if (k === "__number__" && typeof x === "string" && x in specialNumbers) return specialNumbers[x];
      if (k === "__object__" && x !== null && typeof x === "object") return rebuildObject(x as Record<string, unknown>);
    }
    return rebuildObject(o);
  };
  const rebuildObject = (o: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o)) setOwn(out, k, rebuild(o[k]));
    return out;
  };

  try {
    return rebuild(header.root);
  } catch (e) {
    // Do not leak the tensors made before a later entry turned out bad.
    for (const t of tensorCache.values()) t.dispose();
    throw e;
  }
}
