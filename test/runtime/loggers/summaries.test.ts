/**
 * Image, histogram and text summaries, read back with readers that share no code with the writer
 * (independent_tfevents_reader.ts: TFRecord CRCs and protobuf by hand; independent_png_reader.ts:
 * PNG chunks, CRCs and filters by hand), against `torch.utils.tensorboard`'s conversions:
 * dataformats to HWC, one channel to RGB, floats × 255 clipped and truncated, batches tiled 8 per
 * row; histograms in TensorFlow's default buckets as numpy's `histogram` counts them (checked
 * against numpy itself when Debian's python3-numpy is there); text as the text plugin's tensor.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { tf, makeGrid } from "lightning-ts/torch";
import { SummaryWriter } from "../../../src/runtime/loggers/summary_writer";
import { tensorflowBucketEdges } from "../../../src/runtime/loggers/summaries/histogram";
import { readEventFile, type DecodedValue } from "./independent_tfevents_reader";
import { decodePng } from "./independent_png_reader";
import { tempDir } from "./tmp_dirs";

function written(fn: (w: SummaryWriter) => void): DecodedValue[] {
  const writer = new SummaryWriter(tempDir());
  fn(writer);
  writer.close();
  return readEventFile(writer.filePath).flatMap((e) => e.values ?? []);
}

// numpy: (x * 255) in float32, clipped to [0, 255], truncated by astype(uint8)
const toByte = (v: number) => {
  const x = Math.fround(Math.fround(v) * 255);
  return x > 255 ? 255 : x > 0 ? Math.trunc(x) : 0;
};

describe("addImage / addImages", () => {
  it("CHW floats: a PNG of the same size whose pixels are trunc(clip(x·255)); one channel becomes RGB", () => {
    const c = 1, h = 3, w = 5;
    const values = Array.from({ length: c * h * w }, (_, i) => (i - 2) / 10); // below 0 and above 1 included
    const [v] = written((wr) => wr.addImage("img", tf.tensor3d(values, [c, h, w]), 7));
    expect(v!.tag).toBe("img");
    expect(v!.image).toMatchObject({ height: h, width: w, colorspace: 3 });
    const png = decodePng(v!.image!.encoded);
    expect([png.width, png.height, png.channels]).toEqual([w, h, 3]);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < 3; ch++) {
      expect(png.pixels[(y * w + x) * 3 + ch]).toBe(toByte(values[y * w + x]!));
    }
  });

  it("HWC with 4 channels is RGBA; HW is grey; integers are taken as bytes; step and walltime are kept", () => {
    const rgba = tf.tensor3d(Array.from({ length: 2 * 2 * 4 }, (_, i) => i * 16), [2, 2, 4], "int32");
    const values = written((wr) => {
      wr.addImage("rgba", rgba, 3, 12.5, { dataformats: "HWC" });
      wr.addImage("grey", tf.tensor2d([[0, 0.5], [1, 0.25]]), 4, { dataformats: "HW" });
    });
    const rgbaPng = decodePng(values[0]!.image!.encoded);
    expect(rgbaPng.channels).toBe(4);
    expect(Array.from(rgbaPng.pixels)).toEqual(Array.from({ length: 16 }, (_, i) => i * 16));
    const grey = decodePng(values[1]!.image!.encoded);
    expect(Array.from(grey.pixels)).toEqual([0, 0, 0, 127, 127, 127, 255, 255, 255, 63, 63, 63]);
  });

  it("addImages tiles an NCHW batch 8 per row without padding, zeros after the last image", () => {
    const n = 10, h = 2, w = 3;
    const values = Array.from({ length: n * h * w }, (_, i) => (i % 251) / 250);
    const [v] = written((wr) => wr.addImages("batch", tf.tensor4d(values, [n, 1, h, w])));
    const png = decodePng(v!.image!.encoded);
    expect([png.width, png.height]).toEqual([8 * w, 2 * h]);
    for (let k = 0; k < 16; k++) {
      const [row, col] = [Math.floor(k / 8), k % 8];
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        const pixel = png.pixels[((row * h + y) * 8 * w + col * w + x) * 3];
        expect(pixel).toBe(k < n ? toByte(values[(k * h + y) * w + x]!) : 0);
      }
    }
  });

  it("refuses what it cannot show, naming the problem", () => {
    const wr = new SummaryWriter(tempDir());
    expect(() => wr.addImage("x", tf.zeros([2, 3, 4]))).toThrow("an image must have 1, 3 or 4 channels, got 2");
    expect(() => wr.addImage("x", tf.zeros([3, 4]))).toThrow('an image with dataformats "CHW" must have 3 dimensions, got shape [3,4]');
    expect(() => wr.addImage("x", tf.zeros([3, 4, 4]), 0, { dataformats: "CWH" as never })).toThrow("dataformats must be one of CHW, HWC, HW, NCHW, NHWC");
    wr.close();
  });
});

describe("makeGrid (torchvision's make_grid)", () => {
  it("nrow 8, padding 2, padValue around and between images, one channel made three", () => {
    const n = 10, h = 4, w = 5;
    const imgs = tf.tensor4d(Array.from({ length: n * h * w }, (_, i) => i + 1), [n, 1, h, w]);
    const grid = makeGrid(imgs, { padValue: -1 });
    const [C, H, W] = grid.shape;
    expect([C, H, W]).toEqual([3, 2 * (h + 2) + 2, 8 * (w + 2) + 2]);
    const g = grid.arraySync();
    for (let k = 0; k < 16; k++) {
      const [row, col] = [Math.floor(k / 8), k % 8];
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        const want = k < n ? k * h * w + y * w + x + 1 : -1;
        for (let c = 0; c < 3; c++) expect(g[c]![2 + row * (h + 2) + y]![2 + col * (w + 2) + x]).toBe(want);
      }
    }
    expect(g[0]![0]![0]).toBe(-1);
    expect(g[1]![h + 2]![3]).toBe(-1); // the padding row between the two rows of images
    expect(makeGrid(tf.ones([1, 3, 4, 4])).shape).toEqual([3, 4, 4]); // one image: itself
    const normalized = makeGrid(tf.tensor4d([0, 2, 4, 6], [1, 1, 2, 2]), { normalize: true }).arraySync();
    expect(normalized[0]).toEqual([[0, Math.fround(2 / 6)], [Math.fround(4 / 6), 1]]);
  });
});

describe("addHistogram", () => {
  const values = Array.from({ length: 1000 }, (_, i) => Math.sin(i * 12.9898) * 3 + (i % 7 === 0 ? 0 : 0.01 * i));

  it("TensorFlow's buckets: counts add up, each value in its [left, right) bucket, one empty bucket on the left, the moments", () => {
    const [v] = written((wr) => wr.addHistogram("w", tf.tensor1d(values), 2));
    const h = v!.histo!;
    const f32 = values.map(Math.fround);
    expect(h.num).toBe(1000);
    expect(h.min).toBe(Math.min(...f32));
    expect(h.max).toBe(Math.max(...f32));
    expect(h.sum).toBeCloseTo(f32.reduce((a, b) => a + b, 0), 9);
    expect(h.sumSquares).toBeCloseTo(f32.reduce((a, b) => a + b * b, 0), 6);
    expect(h.bucket.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(h.bucket[0]).toBe(0);
    expect(h.bucket).toHaveLength(h.bucketLimit.length);
    const edges = Array.from(tensorflowBucketEdges());
    const first = edges.indexOf(h.bucketLimit[0]!);
    expect(h.bucketLimit).toEqual(edges.slice(first, first + h.bucketLimit.length));
    for (let k = 1; k < h.bucket.length; k++) {
      const inside = f32.filter((x) => x >= edges[first + k - 1]! && x < h.bucketLimit[k]!).length;
      expect(h.bucket[k], `bucket ${k}`).toBe(inside);
    }
  });

  const hasNumpy = spawnSync("/usr/bin/python3", ["-c", "import numpy"]).status === 0;
  it.runIf(hasNumpy)("the same buckets and counts as numpy's histogram with PyTorch's default_bins and make_histogram trimming", () => {
    const [v] = written((wr) => wr.addHistogram("w", values));
    // torch/utils/tensorboard/summary.py: default_bins() and make_histogram(), in numpy
    const py = `
import json, sys, numpy as np
values = np.array(json.loads(sys.stdin.read()), dtype=np.float64)
v = 1e-12; buckets = []; neg = []
while v < 1e20:
    buckets.append(v); neg.append(-v); v *= 1.1
bins = neg[::-1] + [0] + buckets
counts, limits = np.histogram(values, bins=bins)
cum = np.cumsum(np.greater(counts, 0).astype(np.int32))
start, end = np.searchsorted(cum, [0, cum[-1] - 1], side="right")
start = int(start); end = int(end) + 1
counts = counts[start - 1:end] if start > 0 else np.concatenate([[0], counts[:end]])
limits = limits[start:end + 1]
print(json.dumps({"bucket": counts.tolist(), "limit": limits.tolist()}))
`;
    const r = spawnSync("/usr/bin/python3", ["-c", py], { input: JSON.stringify(values), encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const ref = JSON.parse(r.stdout) as { bucket: number[]; limit: number[] };
    expect(v!.histo!.bucket).toEqual(ref.bucket);
    expect(v!.histo!.bucketLimit).toEqual(ref.limit);
  });
});

describe("addText", () => {
  it("the text plugin's metadata and a one-element DT_STRING tensor holding the UTF-8 text", () => {
    const [v] = written((wr) => wr.addText("notes", "**lr** = 1e-3 — ünïcödé", 5));
    expect(v!.pluginName).toBe("text");
    expect(v!.pluginContent).toEqual(new Uint8Array());
    expect(v!.tensor).toEqual({ dtype: 7, shape: [1], strings: ["**lr** = 1e-3 — ünïcödé"] });
  });
});

describe("readEventFile", () => {
  it("reads back what the writer wrote, the same values the independent reader sees", async () => {
    const { readEventFile: read } = await import("lightning-ts");
    const writer = new SummaryWriter(tempDir());
    writer.addScalar("loss", 0.25, 3);
    writer.addImage("img", tf.ones([3, 2, 2]).mul(0.5), 4);
    writer.addText("t", "hello", 5);
    writer.close();
    const events = read(writer.filePath);
    expect(events[0]!.file_version).toBe("brain.Event:2");
    const values = events.slice(1).map((e) => e.summary!.value[0]!);
    expect(values[0]).toMatchObject({ tag: "loss", simple_value: 0.25 });
    const independent = readEventFile(writer.filePath).slice(1).map((e) => e.values![0]!);
    expect(Array.from(values[1]!.image!.encoded_image_string)).toEqual(Array.from(independent[1]!.image!.encoded));
    expect(new TextDecoder().decode(values[2]!.tensor!.string_val[0])).toBe("hello");
    expect(events.slice(1).map((e) => e.step)).toEqual([3, 4, 5]);
  });
});
