import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { tf, save, load, saveSync, loadSync, serialize, deserialize, CHECKPOINT_MAGIC } from "../../../src/torch/index";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lts-ckpt-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string) => path.join(dir, name);

/** Replaces tensors by {dtype, shape, values} so structures compare with toEqual. */
function plain(v: unknown): unknown {
  if (v instanceof tf.Tensor) return { dtype: v.dtype, shape: v.shape, values: Array.from(v.dataSync()) };
  if (ArrayBuffer.isView(v)) return { type: v.constructor.name, values: Array.from(v as unknown as ArrayLike<number>) };
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function sample() {
  const shared = tf.tensor2d([[1.5, -2], [3.25, 1e-30]]);
  return {
    model: {
      "fc1.weight": tf.variable(tf.tensor2d([[0.1, 0.2, 0.3]])),
      "fc1.bias": tf.tensor1d([Math.fround(Math.PI)]),
      "bn.numBatchesTracked": tf.scalar(7, "int32"),
      mask: tf.tensor([true, false, true, true], [2, 2], "bool"),
      empty: tf.zeros([0, 3]),
      big: tf.tensor1d([2147483647, -2147483648, 0], "int32"),
    },
    optimizer: { state: [{ step: 3, expAvg: shared }, { step: 3, expAvg: shared }], paramGroups: [{ lr: 1e-3, betas: [0.9, 0.999], params: [0, 1] }] },
    epoch: 4,
    name: "ckpt ü ✓",
    flags: [true, false, null],
    special: [NaN, Infinity, -Infinity, -0, 0, Number.MAX_VALUE, 5e-324],
    arrays: {
      f64: new Float64Array([Math.PI, -0.5]),
      u8: new Uint8Array([0, 255]),
      i16: new Int16Array([-32768, 32767]),
      u32: new Uint32Array([4294967295]),
      big: new BigInt64Array([-(2n ** 63n), 5n]),
      clamped: new Uint8ClampedArray([9]),
    },
    tricky: { __tensor__: 0 },
    nested: { deeper: { deepest: [[tf.tensor1d([1, 2, 3])]] } },
  };
}

describe("save / load round trip", () => {
  it("async: nested structures with every dtype and typed array come back equal", async () => {
    const obj = sample();
    await save(obj, file("a.ckpt"));
    const back = await load<ReturnType<typeof sample>>(file("a.ckpt"));
    expect(plain(back)).toEqual(plain(obj));
    expect(Object.is(back.special[3], -0)).toBe(true);
    expect(back.arrays.big).toBeInstanceOf(BigInt64Array);
    expect(Array.from(back.arrays.big)).toEqual([-(2n ** 63n), 5n]);
    expect(back.model.mask.dtype).toBe("bool");
    expect(back.model.empty.shape).toEqual([0, 3]);
    // A tensor saved twice is stored once and loads as one tensor.
    expect(back.optimizer.state[0].expAvg).toBe(back.optimizer.state[1].expAvg);
    // Variables load as plain tensors.
    expect(back.model["fc1.weight"]).not.toBeInstanceOf(tf.Variable);
    expect(back.tricky).toEqual({ __tensor__: 0 });
  });

  it("sync variants and in-memory serialize read each other's output", () => {
    const obj = sample();
    saveSync(obj, file("s.ckpt"));
    expect(plain(loadSync(file("s.ckpt")))).toEqual(plain(obj));
    const bytes = serialize(obj);
    expect(Buffer.from(bytes)).toEqual(fs.readFileSync(file("s.ckpt")));
    expect(plain(deserialize(bytes))).toEqual(plain(obj));
  });

  it("follows JSON semantics for undefined and toJSON, and rejects what JSON cannot hold", async () => {
    saveSync({ a: undefined, b: [undefined, 1], d: new Date(0) }, file("j.ckpt"));
    expect(loadSync(file("j.ckpt"))).toEqual({ b: [null, 1], d: "1970-01-01T00:00:00.000Z" });
    expect(() => saveSync({ m: new Map() }, file("x.ckpt"))).toThrow(/cannot save a Map .* at root\.m/);
    expect(() => saveSync({ f: [() => 1] }, file("x.ckpt"))).toThrow(/cannot save a function at root\.f\[0\]/);
    expect(() => saveSync({ n: 1n }, file("x.ckpt"))).toThrow(/cannot save a bigint .* at root\.n/);
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(() => saveSync(cyc, file("x.ckpt"))).toThrow(/circular reference at root\.self/);
    const gone = tf.scalar(1);
    gone.dispose();
    await expect(save({ w: gone }, file("x.ckpt"))).rejects.toThrow(/disposed tensor at root\.w/);
    expect(fs.existsSync(file("x.ckpt"))).toBe(false);
  });

  it("save snapshots values at call time", async () => {
    const v = tf.variable(tf.tensor1d([1, 2]));
    const pending = save({ v }, file("snap.ckpt"));
    v.assign(tf.tensor1d([9, 9]));
    await pending;
    const back = await load<{ v: tf.Tensor }>(file("snap.ckpt"));
    expect(Array.from(back.v.dataSync())).toEqual([1, 2]);
  });
});

describe("the on-disk format", () => {
  it("is magic, LE header length, JSON header, 8-aligned little-endian data as documented", () => {
    saveSync({ w: tf.tensor1d([1, -2], "int32"), f: tf.tensor1d([0.5]) }, file("fmt.ckpt"));
    const b = fs.readFileSync(file("fmt.ckpt"));
    expect(b.subarray(0, 8).toString("latin1")).toBe(CHECKPOINT_MAGIC);
    expect(CHECKPOINT_MAGIC).toBe("LTSCKPT1");
    const h = b.readUInt32LE(8);
    expect((12 + h) % 8).toBe(0);
    const header = JSON.parse(b.subarray(12, 12 + h).toString("utf8"));
    expect(header.format).toBe("lightning-ts-checkpoint");
    expect(header.version).toBe(1);
    expect(header.root).toEqual({ w: { __tensor__: 0 }, f: { __tensor__: 1 } });
    expect(header.tensors).toEqual([
      { dtype: "int32", shape: [2], byteOffset: 0, byteLength: 8 },
      { dtype: "float32", shape: [1], byteOffset: 8, byteLength: 4 },
    ]);
    const data = b.subarray(12 + h);
    expect(data.length).toBe(header.dataLength);
    expect([data.readInt32LE(0), data.readInt32LE(4), data.readFloatLE(8)]).toEqual([1, -2, 0.5]);
    expect(header.dataCrc32).toBe(zlib.crc32(data));
  });
});

describe("corrupt files", () => {
  const good = file("good.ckpt");
  saveSync({ w: tf.tensor1d([1, 2, 3, 4]), step: 10 }, good);
  const bytes = fs.readFileSync(good);
  const h = bytes.readUInt32LE(8);
  const write = (name: string, b: Uint8Array) => {
    fs.writeFileSync(file(name), b);
    return file(name);
  };

  it("missing file", async () => {
    await expect(load(file("nope.ckpt"))).rejects.toThrow(`load: no such file ${file("nope.ckpt")}`);
    expect(() => loadSync(file("nope.ckpt"))).toThrow(/loadSync: no such file/);
  });

  it("bad magic, other versions, zip archives", () => {
    const other = write("other.bin", Buffer.from("hello world, not a checkpoint"));
    expect(() => loadSync(other)).toThrow(`${other}: bad magic "hello wo" (expected "LTSCKPT1": not a lightning-ts checkpoint)`);
    const v2 = Buffer.from(bytes);
    v2.write("2", 7, "latin1");
    expect(() => loadSync(write("v2.ckpt", v2))).toThrow(/unsupported checkpoint format version "2"/);
    const zip = Buffer.concat([Buffer.from([0x50, 0x4b, 3, 4]), Buffer.alloc(40)]);
    expect(() => loadSync(write("model.pt", zip))).toThrow(/zip archive: a PyTorch \.pt file\?/);
  });

  it("truncated at any point", () => {
    expect(() => loadSync(write("t0.ckpt", bytes.subarray(0, 5)))).toThrow(/truncated: 5 bytes, shorter than the 12-byte preamble/);
    expect(() => loadSync(write("t1.ckpt", bytes.subarray(0, 20)))).toThrow(new RegExp(`truncated: the header declares ${h} bytes, only 8 follow`));
    expect(() => loadSync(write("t2.ckpt", bytes.subarray(0, bytes.length - 3)))).toThrow(
      /truncated: the header declares 16 bytes of tensor data from offset \d+ \(\d+ bytes in all\), the file has \d+/,
    );
    expect(() => loadSync(write("t3.ckpt", Buffer.concat([bytes, Buffer.from([0])])))).toThrow(/1 unexpected bytes after the tensor data/);
  });

  it("header not JSON, or not ours", () => {
    const broken = Buffer.from(bytes);
    broken[12] = "x".charCodeAt(0);
    expect(() => loadSync(write("nojson.ckpt", broken))).toThrow(/header is not valid JSON/);
    const json = Buffer.from(JSON.stringify({ hello: 1 }));
    const pre = Buffer.alloc(12);
    pre.write("LTSCKPT1", 0, "latin1");
    pre.writeUInt32LE(json.length, 8);
    expect(() => loadSync(write("foreign.ckpt", Buffer.concat([pre, json])))).toThrow(/not a lightning-ts checkpoint header/);
  });

  it("a flipped bit in the tensor data fails the checksum", () => {
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 1] ^= 0x01;
    expect(() => loadSync(write("flip.ckpt", flipped))).toThrow(/tensor data is corrupt: CRC-32 0x[0-9a-f]{8} does not match the header's 0x[0-9a-f]{8}/);
  });

  it("a header whose entries disagree with the data is rejected without leaking tensors", () => {
    const h2 = JSON.parse(bytes.subarray(12, 12 + h).toString("utf8"));
    h2.root = { a: { __tensor__: 0 }, b: { __tensor__: 1 } };
    const json = Buffer.from(JSON.stringify(h2).padEnd(Math.ceil((JSON.stringify(h2).length + 12) / 8) * 8 - 12));
    const pre = Buffer.alloc(12);
    pre.write("LTSCKPT1", 0, "latin1");
    pre.writeUInt32LE(json.length, 8);
    const before = tf.memory().numTensors;
    expect(() => loadSync(write("ref.ckpt", Buffer.concat([pre, json, bytes.subarray(12 + h)])))).toThrow(
      /root references tensor 1, the header lists 1/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});
