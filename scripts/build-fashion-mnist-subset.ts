/**
 * Builds the class-balanced Fashion-MNIST subset bundled in fixtures/data/fashion-mnist from
 * the full set in Debian's `dataset-fashion-mnist` package:
 *
 *   apt-get update && apt-get install -y dataset-fashion-mnist
 *   npx tsx scripts/build-fashion-mnist-subset.ts [--source DIR] [--out DIR] [--train N] [--test N]
 *
 * Selection: for each class, the first N/10 images of that class in the original file order,
 * kept in that order (so the subset interleaves classes like the original). Output: the four
 * IDX files under their original names, gzipped with level 9 and a zero mtime, so a rebuild
 * from the same source gives byte-identical files.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { fileURLToPath } from "node:url";
import { encodeIdx, readIdxFile } from "../src/torch/data/idx";

const here = path.dirname(fileURLToPath(import.meta.url));

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const source = arg("source", "/usr/share/datasets/fashion-mnist");
const out = arg("out", path.join(here, "..", "fixtures", "data", "fashion-mnist"));
const perSplit = { train: Number(arg("train", "6000")), t10k: Number(arg("test", "1000")) };
const numClasses = 10;

async function subset(prefix: "train" | "t10k", total: number): Promise<void> {
  if (total % numClasses !== 0) throw new Error(`--${prefix === "train" ? "train" : "test"} must be a multiple of 10`);
  const perClass = total / numClasses;
  const images = await readIdxFile(path.join(source, `${prefix}-images-idx3-ubyte.gz`), {
    type: "uint8",
    dims: 3,
    what: "an IDX3 ubyte image file",
  });
  const labels = await readIdxFile(path.join(source, `${prefix}-labels-idx1-ubyte.gz`), {
    type: "uint8",
    dims: 1,
    what: "an IDX1 ubyte label file",
  });
  const [, rows, cols] = images.shape;
  const pixels = rows * cols;
  const taken = new Array<number>(numClasses).fill(0);
  const picked: number[] = [];
  for (let i = 0; i < labels.data.length && picked.length < total; i++) {
    const c = labels.data[i];
    if (taken[c] < perClass) {
      taken[c]++;
      picked.push(i);
    }
  }
  if (picked.length !== total) throw new Error(`${prefix}: only ${picked.length} images found for ${total}`);
  const x = new Uint8Array(total * pixels);
  const y = new Uint8Array(total);
  picked.forEach((src, k) => {
    x.set(images.data.subarray(src * pixels, (src + 1) * pixels) as Uint8Array, k * pixels);
    y[k] = labels.data[src];
  });
  const write = (name: string, bytes: Uint8Array) => {
    const gz = zlib.gzipSync(bytes, { level: 9 });
    fs.writeFileSync(path.join(out, name), gz);
    console.log(`${path.join(out, name)}: ${bytes.length} bytes raw, ${gz.length} gzipped`);
  };
  write(`${prefix}-images-idx3-ubyte.gz`, encodeIdx("uint8", [total, rows, cols], x));
  write(`${prefix}-labels-idx1-ubyte.gz`, encodeIdx("uint8", [total], y));
}

fs.mkdirSync(out, { recursive: true });
await subset("train", perSplit.train);
await subset("t10k", perSplit.t10k);
