import * as fs from "node:fs";
import * as path from "node:path";
import { tf } from "../tf.ts";
import { checkIndex, Dataset } from "./dataset.ts";
import { IdxFormatError, readIdxFile } from "./idx.ts";
import { packageRoot } from "./package_root.ts";

export type MNISTSplit = "train" | "test";

export interface MNISTLoadOptions {
  /**
   * Folder with the four IDX files (gzipped or raw; torchvision's `<root>/<Name>/raw` layout
   * is also searched). Default: see `defaultRoot()`.
   */
  root?: string;
  /** "train" (default) or "test". */
  split?: MNISTSplit;
  /** Read only the first `limit` items. */
  limit?: number;
}

/** File-name spellings in circulation: LeCun's/Zalando's, and Kaggle's dotted one. */
function candidateNames(prefix: string, kind: "images" | "labels"): string[] {
  const idx = kind === "images" ? "idx3" : "idx1";
  const base = [`${prefix}-${kind}-${idx}-ubyte`, `${prefix}-${kind}.${idx}-ubyte`];
  return base.flatMap((b) => [`${b}.gz`, b]);
}

function findFile(root: string, datasetName: string, names: string[]): string | null {
  for (const dir of [root, path.join(root, datasetName, "raw")]) {
    for (const n of names) {
      const p = path.join(dir, n);
      if (fs.existsSync(p)) return p;
    }
  }
  return null;
}

/** Byte -> float32 in 0..1, one table so every path (get, getBatch, images) agrees exactly. */
const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/**
 * MNIST-format image classification sets read from IDX files (torchvision's `MNIST`).
 * Items are `[image float32 [1, 28, 28] in 0..1, label int32 scalar]`.
 *
 * The split is held on the host as the file's bytes (47 MB for 60,000 images, a quarter of
 * their float32 form) and each batch is built by copying its rows through a byte-to-float
 * table and uploading one tensor: on the CPU backends that is ~20x cheaper than a `tf.gather`
 * from a device tensor (see host_batch.ts), and on a GPU backend a 200 KB upload per batch
 * costs less than keeping 188 MB of float32 images in GPU memory. `images` / `targets` give
 * the whole split as tensors (made on first use, then kept), like torchvision's `data` and
 * `targets`.
 */
export class MNIST extends Dataset<[tf.Tensor, tf.Tensor]> {
  /** Folder names and class names of this dataset. */
  static readonly datasetName: string = "MNIST";
  static readonly classes: readonly string[] = [
    "0 - zero",
    "1 - one",
    "2 - two",
    "3 - three",
    "4 - four",
    "5 - five",
    "6 - six",
    "7 - seven",
    "8 - eight",
    "9 - nine",
  ];
  /** Environment variable naming the default root. */
  static readonly rootEnv: string = "LIGHTNING_TS_MNIST_ROOT";
  /** System-wide install location, used when present. */
  static readonly systemRoot: string = "/usr/share/datasets/mnist";
  /** Bundled copy inside the package (relative to its root), or null. */
  static readonly bundledRoot: string | null = null;
  /** How to get the files, for error messages. */
  static readonly howToGet: string = "download the four IDX files (train/t10k images/labels) and pass { root }";

  /** Pixel bytes, row-major [N, rows, cols]. */
  readonly pixels: Uint8Array;
  /** Labels, [N]. */
  readonly labels: Int32Array;
  readonly rows: number;
  readonly cols: number;
  readonly split: MNISTSplit;
  /** Where the files were read from ("" for a dataset built from arrays). */
  readonly root: string;
  private imagesTensor: tf.Tensor4D | null = null;
  private targetsTensor: tf.Tensor1D | null = null;

  /** Wraps arrays already in memory; to read files use `await X.load(...)`. */
  constructor(
    pixels: Uint8Array,
    labels: Int32Array,
    options: { rows?: number; cols?: number; split?: MNISTSplit; root?: string } = {},
  ) {
    super();
    const { rows = 28, cols = 28, split = "train", root = "" } = options;
    if (pixels.length !== labels.length * rows * cols) {
      throw new Error(
        `${new.target.name}: ${pixels.length} pixel bytes do not make ${labels.length} images of ${rows}x${cols}`,
      );
    }
    this.pixels = pixels;
    this.labels = labels;
    this.rows = rows;
    this.cols = cols;
    this.split = split;
    this.root = root;
  }

  get classes(): readonly string[] {
    return (this.constructor as typeof MNIST).classes;
  }

  get length(): number {
    return this.labels.length;
  }

  /** All images, float32 [N, 1, rows, cols] in 0..1 (made on first use, kept until dispose). */
  get images(): tf.Tensor4D {
    if (this.imagesTensor === null || this.imagesTensor.isDisposed) {
      const x = new Float32Array(this.pixels.length);
      for (let k = 0; k < x.length; k++) x[k] = BYTE_TO_UNIT[this.pixels[k]];
      this.imagesTensor = tf.keep(tf.tensor4d(x, [this.length, 1, this.rows, this.cols], "float32"));
    }
    return this.imagesTensor;
  }

  /** All labels, int32 [N] (made on first use, kept until dispose). */
  get targets(): tf.Tensor1D {
    if (this.targetsTensor === null || this.targetsTensor.isDisposed) {
      this.targetsTensor = tf.keep(tf.tensor1d(this.labels, "int32"));
    }
    return this.targetsTensor;
  }

  get(index: number): [tf.Tensor, tf.Tensor] {
    checkIndex(index, this.length, this.constructor.name);
    const [x] = this.rowsOf([index]);
    return [tf.tensor3d(x, [1, this.rows, this.cols], "float32"), tf.scalar(this.labels[index], "int32")];
  }

  getBatch(indices: readonly number[]): [tf.Tensor, tf.Tensor] {
    for (const i of indices) checkIndex(i, this.length, this.constructor.name);
    const [x, y] = this.rowsOf(indices);
    return [tf.tensor4d(x, [indices.length, 1, this.rows, this.cols], "float32"), tf.tensor1d(y, "int32")];
  }

  /** Images (as floats in 0..1) and labels of `indices`, on the host. */
  private rowsOf(indices: readonly number[]): [Float32Array, Int32Array] {
    const size = this.rows * this.cols;
    const x = new Float32Array(indices.length * size);
    const y = new Int32Array(indices.length);
    const px = this.pixels;
    for (let r = 0; r < indices.length; r++) {
      const from = indices[r] * size;
      const to = r * size;
      for (let k = 0; k < size; k++) x[to + k] = BYTE_TO_UNIT[px[from + k]];
      y[r] = this.labels[indices[r]];
    }
    return [x, y];
  }

  /** Frees the `images` / `targets` tensors, if they were made. */
  dispose(): void {
    this.imagesTensor?.dispose();
    this.targetsTensor?.dispose();
    this.imagesTensor = null;
    this.targetsTensor = null;
  }

  /**
   * The root `load()` uses without `root`: the environment variable, else the system copy
   * when its folder exists, else the bundled copy, else null.
   */
  static defaultRoot(this: typeof MNIST): string | null {
    const env = process.env[this.rootEnv];
    if (env !== undefined && env.trim() !== "") return env;
    if (fs.existsSync(this.systemRoot)) return this.systemRoot;
    if (this.bundledRoot !== null) return path.join(packageRoot(), this.bundledRoot);
    return null;
  }

  /** Reads a split. Errors name the file and what was expected in it. */
  static async load<C extends typeof MNIST>(this: C, options: MNISTLoadOptions = {}): Promise<InstanceType<C>> {
    const name = this.datasetName;
    const split = options.split ?? "train";
    if (split !== "train" && split !== "test") {
      throw new Error(`${name}.load: split must be "train" or "test", got ${JSON.stringify(split)}`);
    }
    const limit = options.limit;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
      throw new Error(`${name}.load: limit must be a non-negative integer, got ${limit}`);
    }
    const root = options.root ?? this.defaultRoot();
    if (root === null) {
      throw new Error(
        `${name}.load: no root given and no default found (${this.rootEnv} unset, ${this.systemRoot} missing): ${this.howToGet}`,
      );
    }
    const prefix = split === "train" ? "train" : "t10k";
    const files: Record<"images" | "labels", string> = { images: "", labels: "" };
    for (const kind of ["images", "labels"] as const) {
      const names = candidateNames(prefix, kind);
      const found = findFile(root, name, names);
      if (found === null) {
        throw new IdxFormatError(
          `${name}.load: no ${split} ${kind} file in ${root} (looked for ${names.join(", ")}, also under ` +
            `${path.join(root, name, "raw")}): ${this.howToGet}`,
        );
      }
      files[kind] = found;
    }
    const images = await readIdxFile(files.images, { type: "uint8", dims: 3, what: "an IDX3 ubyte image file" });
    const labels = await readIdxFile(files.labels, { type: "uint8", dims: 1, what: "an IDX1 ubyte label file" });
    const [count, rows, cols] = images.shape;
    if (rows !== 28 || cols !== 28) {
      throw new IdxFormatError(`${files.images}: images are ${rows}x${cols}, expected 28x28`);
    }
    if (labels.shape[0] !== count) {
      throw new IdxFormatError(
        `${files.labels}: ${labels.shape[0]} labels, but ${files.images} has ${count} images (expected equal counts)`,
      );
    }
    const n = limit === undefined ? count : Math.min(limit, count);
    const numClasses = this.classes.length;
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = labels.data[i];
      if (v >= numClasses) {
        throw new IdxFormatError(`${files.labels}: label ${v} at index ${i} is out of range (expected 0..${numClasses - 1})`);
      }
      y[i] = v;
    }
    // With a limit, copy the prefix so the rest of the file's bytes can be freed.
    const all = images.data as Uint8Array;
    const pixels = n === count ? all : all.slice(0, n * rows * cols);
    return new this(pixels, y, { rows, cols, split, root }) as InstanceType<C>;
  }
}

/** Zalando Research's Fashion-MNIST (MIT licence): MNIST's format, clothing classes. */
export class FashionMNIST extends MNIST {
  static override readonly datasetName: string = "FashionMNIST";
  static override readonly classes: readonly string[] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
  ];
  static override readonly rootEnv: string = "LIGHTNING_TS_FASHION_MNIST_ROOT";
  /** Debian's `dataset-fashion-mnist` package: the full 60,000 + 10,000 images. */
  static override readonly systemRoot: string = "/usr/share/datasets/fashion-mnist";
  /** A class-balanced subset shipped with the package (see its README). */
  static override readonly bundledRoot: string | null = "fixtures/data/fashion-mnist";
  static override readonly howToGet: string =
    "install the full set with `apt-get install dataset-fashion-mnist` (Debian), or pass { root } to a folder with the IDX files";
}
