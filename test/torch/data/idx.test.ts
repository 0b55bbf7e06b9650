import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { tf, data } from "../../../src/torch/index";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lts-idx-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** An IDX file written by hand (big-endian header), independent of encodeIdx. */
function handIdx(typeCode: number, shape: number[], body: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = typeCode;
  header[3] = shape.length;
  shape.forEach((s, i) => header.writeUInt32BE(s, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(body)]);
}

/** n 28x28 images whose pixel p of image i is (i * 31 + p) % 256, labels (3i + 1) % 10. */
function tinySet(n: number) {
  const pixels = Array.from({ length: n * 784 }, (_, k) => (Math.floor(k / 784) * 31 + (k % 784)) % 256);
  const labels = Array.from({ length: n }, (_, i) => (3 * i + 1) % 10);
  return { images: handIdx(0x08, [n, 28, 28], pixels), labels: handIdx(0x08, [n], labels), pixels, labelValues: labels };
}

function writeSet(dir: string, prefix: string, set: { images: Buffer; labels: Buffer }, gz: boolean) {
  fs.mkdirSync(dir, { recursive: true });
  const z = (b: Buffer) => (gz ? zlib.gzipSync(b) : b);
  const ext = gz ? ".gz" : "";
  fs.writeFileSync(path.join(dir, `${prefix}-images-idx3-ubyte${ext}`), z(set.images));
  fs.writeFileSync(path.join(dir, `${prefix}-labels-idx1-ubyte${ext}`), z(set.labels));
}

describe("IDX codec", () => {
  it("encodeIdx writes the documented header and parseIdx reads every element type back", () => {
    const enc = data.encodeIdx("uint8", [2, 3], [1, 2, 3, 4, 5, 255]);
    expect(Buffer.from(enc)).toEqual(handIdx(0x08, [2, 3], [1, 2, 3, 4, 5, 255]));
    const cases: Array<[data.IdxType, number[]]> = [
      ["uint8", [0, 7, 255]],
      ["int8", [-128, 0, 127]],
      ["int16", [-32768, 1, 32767]],
      ["int32", [-(2 ** 31), 5, 2 ** 31 - 1]],
      ["float32", [1.5, -2.25, 2 ** 40]],
      ["float64", [Math.PI, -1e-300, 2 ** 60]],
    ];
    for (const [type, values] of cases) {
      const parsed = data.parseIdx(data.encodeIdx(type, [3, 1], values), "x");
      expect(parsed.type).toBe(type);
      expect(parsed.shape).toEqual([3, 1]);
      expect(Array.from(parsed.data)).toEqual(values);
    }
    // Multi-byte elements are big-endian on disk.
    expect(Array.from(data.encodeIdx("int16", [1], [0x0102]).subarray(8))).toEqual([1, 2]);
  });

  it("reports bad magic, truncation and trailing bytes with the file name", () => {
    expect(() => data.parseIdx(Buffer.from([1, 0, 8, 1, 0, 0, 0, 0]), "f.idx")).toThrow(
      /f\.idx: bad magic 0x01000801: not an IDX file/,
    );
    expect(() => data.parseIdx(handIdx(0x08, [4], [1, 2, 3]), "f.idx")).toThrow(
      /f\.idx: truncated: shape \[4\] of uint8 needs 12 bytes, the file has 11/,
    );
    expect(() => data.parseIdx(handIdx(0x08, [2], [1, 2, 3]), "f.idx")).toThrow(/f\.idx: has trailing bytes/);
    expect(() => data.parseIdx(Buffer.from([0, 0, 8, 3, 0, 0]), "f.idx")).toThrow(/truncated IDX header: 3 dimensions need 16/);
    expect(() =>
      data.parseIdx(handIdx(0x08, [1], [0]), "f.idx", { type: "uint8", dims: 3, what: "an IDX3 ubyte image file" }),
    ).toThrow("f.idx: bad magic 0x00000801 (expected 0x00000803 for an IDX3 ubyte image file)");
  });
});

describe("MNIST reader on generated files", () => {
  const set = tinySet(5);
  const testSet = tinySet(3);
  const rawRoot = path.join(tmp, "raw");
  const gzRoot = path.join(tmp, "gz");
  writeSet(rawRoot, "train", set, false);
  writeSet(rawRoot, "t10k", testSet, false);
  writeSet(gzRoot, "train", set, true);

  it("reads raw and gzipped files into [image float32 [1,28,28] in 0..1, label int32]", async () => {
    for (const root of [rawRoot, gzRoot]) {
      const ds = await data.MNIST.load({ root, split: "train" });
      expect(ds.length).toBe(5);
      expect(ds.images.shape).toEqual([5, 1, 28, 28]);
      const [img, label] = ds.get(2);
      expect(img.shape).toEqual([1, 28, 28]);
      expect(img.dtype).toBe("float32");
      expect(label.dtype).toBe("int32");
      expect(label.shape).toEqual([]);
      expect(label.dataSync()[0]).toBe(7);
      const expected = set.pixels.slice(2 * 784, 3 * 784).map((v) => Math.fround(v / 255));
      expect(Array.from(img.dataSync())).toEqual(expected);
      expect(Array.from(ds.targets.dataSync())).toEqual(set.labelValues);
      const [bx, by] = ds.getBatch([4, 0]);
      expect(bx.shape).toEqual([2, 1, 28, 28]);
      expect(Array.from(by.dataSync())).toEqual([set.labelValues[4], set.labelValues[0]]);
      ds.dispose();
    }
    const test = await data.MNIST.load({ root: rawRoot, split: "test" });
    expect(test.length).toBe(3);
    expect(test.split).toBe("test");
  });

  it("honours limit, torchvision's <root>/<Name>/raw layout and Kaggle's dotted names", async () => {
    const limited = await data.MNIST.load({ root: gzRoot, limit: 2 });
    expect(limited.length).toBe(2);
    const tv = path.join(tmp, "tv");
    writeSet(path.join(tv, "FashionMNIST", "raw"), "train", set, true);
    expect((await data.FashionMNIST.load({ root: tv })).length).toBe(5);
    const kaggle = path.join(tmp, "kaggle");
    fs.mkdirSync(kaggle);
    fs.writeFileSync(path.join(kaggle, "train-images.idx3-ubyte"), set.images);
    fs.writeFileSync(path.join(kaggle, "train-labels.idx1-ubyte"), set.labels);
    expect((await data.MNIST.load({ root: kaggle })).length).toBe(5);
  });

  it("a DataLoader over it batches with the gather fast path", async () => {
    const ds = await data.MNIST.load({ root: gzRoot });
    const loader = new data.DataLoader(ds, { batchSize: 2 });
    const seen: number[] = [];
    for (const [x, y] of loader) {
      expect(x.shape.slice(1)).toEqual([1, 28, 28]);
      seen.push(...y.dataSync());
    }
    expect(seen).toEqual(set.labelValues);
  });

  function brokenRoot(name: string, images: Buffer, labels: Buffer, gz = false): string {
    const root = path.join(tmp, name);
    writeSet(root, "train", { images, labels }, gz);
    return root;
  }

  it("corrupt files give errors naming the file and what was expected", async () => {
    const swapped = brokenRoot("swapped", set.labels, set.images);
    await expect(data.MNIST.load({ root: swapped })).rejects.toThrow(
      `${path.join(swapped, "train-images-idx3-ubyte")}: bad magic 0x00000801 (expected 0x00000803 for an IDX3 ubyte image file)`,
    );
    const truncated = brokenRoot("truncated", set.images.subarray(0, 1000), set.labels);
    await expect(data.MNIST.load({ root: truncated })).rejects.toThrow(
      /train-images-idx3-ubyte: truncated: shape \[5, 28, 28\] of uint8 needs 3936 bytes, the file has 1000/,
    );
    const gzRootBad = brokenRoot("badgz", set.images, set.labels, true);
    const gzFile = path.join(gzRootBad, "train-images-idx3-ubyte.gz");
    fs.writeFileSync(gzFile, fs.readFileSync(gzFile).subarray(0, 60));
    await expect(data.MNIST.load({ root: gzRootBad })).rejects.toThrow(`${gzFile}: corrupt gzip data`);
    fs.writeFileSync(gzFile, set.images);
    await expect(data.MNIST.load({ root: gzRootBad })).rejects.toThrow(`${gzFile}: not gzip data (starts with 00 00, expected 1f 8b)`);
    const counts = brokenRoot("counts", set.images, tinySet(4).labels);
    await expect(data.MNIST.load({ root: counts })).rejects.toThrow(/4 labels, but .*train-images-idx3-ubyte has 5 images/);
    const small = brokenRoot("small", handIdx(0x08, [1, 27, 27], new Array(729).fill(0)), handIdx(0x08, [1], [0]));
    await expect(data.MNIST.load({ root: small })).rejects.toThrow(/images are 27x27, expected 28x28/);
    const badLabel = brokenRoot("badlabel", tinySet(2).images, handIdx(0x08, [2], [3, 12]));
    await expect(data.MNIST.load({ root: badLabel })).rejects.toThrow(/label 12 at index 1 is out of range \(expected 0\.\.9\)/);
  });

  it("missing files: the error lists what was looked for and how to get it", async () => {
    const empty = path.join(tmp, "empty");
    fs.mkdirSync(empty);
    const err = await data.FashionMNIST.load({ root: empty, split: "test" }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toContain(`no test images file in ${empty}`);
    expect(msg).toContain("t10k-images-idx3-ubyte.gz, t10k-images-idx3-ubyte");
    expect(msg).toContain(path.join(empty, "FashionMNIST", "raw"));
    expect(msg).toContain("apt-get install dataset-fashion-mnist");
    class NoDefaultMNIST extends data.MNIST {
      static override readonly systemRoot = path.join(tmp, "does-not-exist");
    }
    const saved = process.env.LIGHTNING_TS_MNIST_ROOT;
    delete process.env.LIGHTNING_TS_MNIST_ROOT;
    try {
      await expect(NoDefaultMNIST.load({ split: "train" })).rejects.toThrow(/MNIST\.load: no root given and no default found/);
      process.env.LIGHTNING_TS_MNIST_ROOT = rawRoot;
      const viaEnv = await NoDefaultMNIST.load({ split: "train" });
      expect(viaEnv).toBeInstanceOf(NoDefaultMNIST);
      expect(viaEnv.length).toBe(5);
    } finally {
      if (saved === undefined) delete process.env.LIGHTNING_TS_MNIST_ROOT;
      else process.env.LIGHTNING_TS_MNIST_ROOT = saved;
    }
    await expect(data.MNIST.load({ root: rawRoot, split: "val" as "train" })).rejects.toThrow(/split must be "train" or "test"/);
  });
});

describe("pixel scaling", () => {
  it("values are the bytes / 255", async () => {
    const ds = await data.MNIST.load({ root: path.join(tmp, "raw"), limit: 1 });
    const v = await ds.images.data();
    expect(tf.util.sizeFromShape(ds.images.shape)).toBe(784);
    expect(v[255]).toBeCloseTo(1, 6);
    expect(v[0]).toBe(0);
  });
});
