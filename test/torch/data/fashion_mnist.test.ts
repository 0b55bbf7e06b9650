import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tf, data } from "../../../src/torch/index";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const bundled = path.join(repo, "fixtures", "data", "fashion-mnist");

/** Per-class counts of an int32 label tensor. */
function classCounts(targets: tf.Tensor): number[] {
  const counts = new Array(10).fill(0);
  for (const v of targets.dataSync()) counts[v]++;
  return counts;
}

describe("bundled Fashion-MNIST subset", () => {
  it("files match the checksums recorded in its README", () => {
    const readme = fs.readFileSync(path.join(bundled, "README.md"), "utf8");
    const names = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];
    for (const n of names) {
      const sha = crypto.createHash("sha256").update(fs.readFileSync(path.join(bundled, n))).digest("hex");
      expect(readme).toContain(`${sha}  ${n}`);
    }
    expect(fs.readFileSync(path.join(bundled, "LICENSE"), "utf8")).toContain("Zalando SE");
    const total = names.reduce((s, n) => s + fs.statSync(path.join(bundled, n)).size, 0);
    expect(total).toBeLessThan(5 * 1024 * 1024);
  });

  it("train: 6000 images, 600 per class, pixels in [0, 1] with Fashion-MNIST's statistics", async () => {
    const ds = await data.FashionMNIST.load({ root: bundled, split: "train" });
    expect(ds.length).toBe(6000);
    expect(ds.images.shape).toEqual([6000, 1, 28, 28]);
    expect(ds.images.dtype).toBe("float32");
    expect(ds.targets.dtype).toBe("int32");
    expect(classCounts(ds.targets)).toEqual(new Array(10).fill(600));
    expect(ds.images.min().dataSync()[0]).toBe(0);
    expect(ds.images.max().dataSync()[0]).toBe(1);
    // Fashion-MNIST's published training-set pixel mean and std are 0.2860 and 0.3530.
    expect(ds.images.mean().dataSync()[0]).toBeCloseTo(0.286, 1);
    const { variance } = tf.moments(ds.images);
    expect(Math.sqrt(variance.dataSync()[0])).toBeCloseTo(0.353, 1);
    expect(ds.classes[9]).toBe("Ankle boot");
    ds.dispose();
  });

  it("test: 1000 images, 100 per class", async () => {
    const ds = await data.FashionMNIST.load({ root: bundled, split: "test", limit: 2000 });
    expect(ds.length).toBe(1000);
    expect(classCounts(ds.targets)).toEqual(new Array(10).fill(100));
    ds.dispose();
  });

  it("images and labels line up: a nearest-centroid classifier from train scores well above chance on test", async () => {
    const train = await data.FashionMNIST.load({ root: bundled, split: "train" });
    const test = await data.FashionMNIST.load({ root: bundled, split: "test" });
    const accuracy = tf.tidy(() => {
      const x = train.images.reshape([-1, 784]);
      const onehot = tf.oneHot(train.targets, 10); // [N, 10]
      const centroids = onehot.transpose().matMul(x).div(onehot.sum(0).expandDims(1)); // [10, 784]
      const xt = test.images.reshape([-1, 784]);
      // argmin |x - c|^2 = argmax (2 x.c - |c|^2)
      const score = xt.matMul(centroids.transpose()).mul(2).sub(centroids.square().sum(1));
      return score.argMax(1).equal(test.targets).cast("float32").mean().dataSync()[0];
    });
    // Nearest centroid on Fashion-MNIST scores about 0.68; a label/image misalignment gives 0.1.
    expect(accuracy).toBeGreaterThan(0.6);
    train.dispose();
    test.dispose();
  });

  it("the default root is the bundled subset when no system copy exists, from any cwd", async () => {
    class BundledOnly extends data.FashionMNIST {
      static override readonly systemRoot = path.join(os.tmpdir(), "lts-no-such-dataset-dir");
    }
    const saved = process.env.LIGHTNING_TS_FASHION_MNIST_ROOT;
    delete process.env.LIGHTNING_TS_FASHION_MNIST_ROOT;
    const cwd = process.cwd();
    process.chdir(os.tmpdir());
    try {
      expect(BundledOnly.defaultRoot()).toBe(bundled);
      const ds = await BundledOnly.load({ split: "test", limit: 10 });
      expect(ds.length).toBe(10);
      expect(ds.root).toBe(bundled);
    } finally {
      process.chdir(cwd);
      if (saved !== undefined) process.env.LIGHTNING_TS_FASHION_MNIST_ROOT = saved;
    }
  });

  it("prefers Debian's /usr/share/datasets/fashion-mnist when that folder exists", () => {
    expect(data.FashionMNIST.systemRoot).toBe("/usr/share/datasets/fashion-mnist");
    const fake = fs.mkdtempSync(path.join(os.tmpdir(), "lts-system-"));
    class WithSystem extends data.FashionMNIST {
      static override readonly systemRoot = fake;
    }
    const saved = process.env.LIGHTNING_TS_FASHION_MNIST_ROOT;
    delete process.env.LIGHTNING_TS_FASHION_MNIST_ROOT;
    try {
      expect(WithSystem.defaultRoot()).toBe(fake);
      process.env.LIGHTNING_TS_FASHION_MNIST_ROOT = bundled;
      expect(WithSystem.defaultRoot()).toBe(bundled);
    } finally {
      if (saved === undefined) delete process.env.LIGHTNING_TS_FASHION_MNIST_ROOT;
      else process.env.LIGHTNING_TS_FASHION_MNIST_ROOT = saved;
      fs.rmSync(fake, { recursive: true });
    }
  });
});
