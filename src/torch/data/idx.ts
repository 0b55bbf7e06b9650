/**
 * The IDX file format (LeCun's MNIST format, also used by Fashion-MNIST).
 *
 * Layout, all integers big-endian:
 *   bytes 0-1  zero
 *   byte  2    element type: 0x08 ubyte, 0x09 sbyte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
 *   byte  3    number of dimensions d
 *   4*d bytes  the size of each dimension (uint32)
 *   then the elements, row-major.
 *
 * So an image file starts with the magic 0x00000803 (ubyte, 3 dims: count, rows, cols) and a
 * label file with 0x00000801. Files are usually gzipped; gzip is recognised by its own magic
 * (1f 8b), not by the file name, so a renamed file still reads.
 *
 * This module has no tfjs dependency: the bundling script uses it too.
 */
import * as fs from "node:fs";
import * as zlib from "node:zlib";
import { promisify } from "node:util";

const gunzip = promisify(zlib.gunzip);

export type IdxType = "uint8" | "int8" | "int16" | "int32" | "float32" | "float64";

export type IdxArray = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxData {
  type: IdxType;
  shape: number[];
  /** Elements in row-major order, in host byte order. */
  data: IdxArray;
}

const typeCodes: Record<IdxType, number> = {
  uint8: 0x08,
  int8: 0x09,
  int16: 0x0b,
  int32: 0x0c,
  float32: 0x0d,
  float64: 0x0e,
};

const typeByCode = new Map<number, IdxType>(Object.entries(typeCodes).map(([k, v]) => [v, k as IdxType]));

const elementSize: Record<IdxType, number> = { uint8: 1, int8: 1, int16: 2, int32: 4, float32: 4, float64: 8 };

export class IdxFormatError extends Error {
  override name = "IdxFormatError";
}

function hex32(v: number): string {
  return "0x" + (v >>> 0).toString(16).padStart(8, "0");
}

/** The magic number of an IDX file holding `type` elements in `dims` dimensions. */
export function idxMagic(type: IdxType, dims: number): number {
  return ((typeCodes[type] << 8) | dims) >>> 0;
}

/**
 * Parses an (uncompressed) IDX buffer. `name` is used in error messages.
 * With `expect`, the magic number must be exactly that of `expect.type` in `expect.dims`
 * dimensions (`what` describes the file kind for the message).
 */
export function parseIdx(
  bytes: Uint8Array,
  name: string,
  expect?: { type: IdxType; dims: number; what: string },
): IdxData {
  if (bytes.length < 4) {
    throw new IdxFormatError(`${name}: truncated IDX file: ${bytes.length} bytes, shorter than the 4-byte magic number`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (expect) {
    const want = idxMagic(expect.type, expect.dims);
    if (magic !== want) {
      throw new IdxFormatError(`${name}: bad magic ${hex32(magic)} (expected ${hex32(want)} for ${expect.what})`);
    }
  }
  const type = typeByCode.get(bytes[2]);
  if (bytes[0] !== 0 || bytes[1] !== 0 || type === undefined) {
    throw new IdxFormatError(
      `${name}: bad magic ${hex32(magic)}: not an IDX file (expected 0x0000TTDD with type TT in 08,09,0B,0C,0D,0E)`,
    );
  }
  const dims = bytes[3];
  const headerLength = 4 + 4 * dims;
  if (bytes.length < headerLength) {
    throw new IdxFormatError(
      `${name}: truncated IDX header: ${dims} dimensions need ${headerLength} header bytes, the file has ${bytes.length}`,
    );
  }
  const shape: number[] = [];
  for (let d = 0; d < dims; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const size = elementSize[type];
  const expected = headerLength + count * size;
  if (bytes.length !== expected) {
    const problem = bytes.length < expected ? "truncated" : "has trailing bytes";
    throw new IdxFormatError(
      `${name}: ${problem}: shape [${shape.join(", ")}] of ${type} needs ${expected} bytes, the file has ${bytes.length}`,
    );
  }
  return { type, shape, data: readElements(bytes, headerLength, count, type) };
}

function readElements(bytes: Uint8Array, offset: number, count: number, type: IdxType): IdxArray {
  // Copy so the result owns an aligned buffer of its own: the input may be a view into a
  // pooled Buffer (and Buffer's slice() is a view too, hence the explicit copy).
  const raw = new Uint8Array(count * elementSize[type]);
  raw.set(bytes.subarray(offset, offset + raw.length));
  switch (type) {
    case "uint8":
      return raw;
    case "int8":
      return new Int8Array(raw.buffer, 0, count);
  }
  // Multi-byte elements are big-endian in the file: decode through a DataView.
  const view = new DataView(raw.buffer);
  const n = count;
  switch (type) {
    case "int16": {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, false);
      return out;
    }
    case "int32": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, false);
      return out;
    }
    case "float32": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, false);
      return out;
    }
    case "float64": {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, false);
      return out;
    }
  }
}

/** Encodes an IDX file (uncompressed). Used by the bundling script and by tests. */
export function encodeIdx(type: IdxType, shape: readonly number[], data: ArrayLike<number>): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) {
    throw new Error(`encodeIdx: shape [${shape.join(", ")}] holds ${count} elements, got ${data.length}`);
  }
  if (shape.length > 255) throw new Error(`encodeIdx: at most 255 dimensions, got ${shape.length}`);
  const size = elementSize[type];
  const header = 4 + 4 * shape.length;
  const out = new Uint8Array(header + count * size);
  const view = new DataView(out.buffer);
  view.setUint32(0, idxMagic(type, shape.length), false);
  shape.forEach((s, d) => view.setUint32(4 + 4 * d, s, false));
  for (let i = 0; i < count; i++) {
    const o = header + i * size;
    const v = data[i];
    switch (type) {
      case "uint8":
        view.setUint8(o, v);
        break;
      case "int8":
        view.setInt8(o, v);
        break;
      case "int16":
        view.setInt16(o, v, false);
        break;
      case "int32":
        view.setInt32(o, v, false);
        break;
      case "float32":
        view.setFloat32(o, v, false);
        break;
      case "float64":
        view.setFloat64(o, v, false);
        break;
    }
  }
  return out;
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Inflates `bytes` when they are gzip data; a `.gz` name with other content is an error. */
async function maybeGunzip(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  if (isGzip(bytes)) {
    try {
      return await gunzip(bytes);
    } catch (e) {
      throw new IdxFormatError(`${name}: corrupt gzip data (${(e as Error).message})`);
    }
  }
  if (name.endsWith(".gz")) {
    const first = Array.from(bytes.subarray(0, 2), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new IdxFormatError(`${name}: not gzip data (starts with ${first || "nothing"}, expected 1f 8b)`);
  }
  return bytes;
}

/** Reads and parses an IDX file, gzipped or raw. */
export async function readIdxFile(
  path: string,
  expect?: { type: IdxType; dims: number; what: string },
): Promise<IdxData> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.promises.readFile(path);
  } catch (e) {
    throw new IdxFormatError(`${path}: cannot read (${(e as Error).message})`);
  }
  return parseIdx(await maybeGunzip(bytes, path), path, expect);
}
