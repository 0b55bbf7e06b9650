/**
 * The structured model summary (Lightning's `utilities/model_summary.ModelSummary` and
 * `summarize`): one row per submodule down to `maxDepth` with its type, parameter count and
 * train/eval mode, plus the totals. `summarize(module, maxDepth)` builds it; `toString()`
 * gives Lightning's table:
 *
 *     | Name | Type       | Params | Mode
 *   ----------------------------------------------
 *   0 | net  | Sequential | 132 K  | train
 *   ----------------------------------------------
 *   132 K     Trainable params
 *   0         Non-trainable params
 *   132 K     Total params
 *   0.530     Total estimated model params size (MB)
 *   3         Modules in train mode
 *   0         Modules in eval mode
 *
 * When the module has an `exampleInputArray`, it is run once (eval mode, no gradients) to add
 * the input and output shapes of every row.
 */
import { tf } from "../../../torch/tf.ts";
import { Module } from "../../../torch/nn/module.ts";
import { noGrad } from "../../../torch/autograd/grad_mode.ts";
import { formatPyNumber, pyFloat, pyInt } from "../../utilities/python_format.ts";

export const PARAMETER_NUM_UNITS = [" ", "K", "M", "B", "T"] as const;
export const UNKNOWN_SIZE = "?";
export const LEFTOVER_PARAMS_NAME = "other params";
export const NOT_APPLICABLE = "n/a";

/** A shape as Lightning's `parse_batch_shape` gives it: a tensor's shape, nested lists of them, or `"?"`. */
export type BatchShape = number[] | BatchShape[] | string;

/** One row: a submodule. */
export class LayerSummary {
  private inShape: BatchShape | null = null;
  private outShape: BatchShape | null = null;

  constructor(readonly module: Module) {}

  /** The module's class name (`Linear`, `Sequential`). */
  get layerType(): string {
    return this.module.constructor.name;
  }

  /** Parameters of this module and its submodules (each counted once). */
  get numParameters(): number {
    return this.module.parameters().reduce((n, p) => n + p.size, 0);
  }

  get training(): boolean {
    return this.module.training;
  }

  /** The input shape of the example forward pass (`"?"` when it did not reach this module). */
  get inSize(): BatchShape {
    return this.inShape ?? UNKNOWN_SIZE;
  }

  get outSize(): BatchShape {
    return this.outShape ?? UNKNOWN_SIZE;
  }

  /** Records the shapes of the first call only (a module called twice keeps its first). */
  record(input: unknown, output: unknown): void {
    if (this.inShape !== null) return;
    this.inShape = parseBatchShape(Array.isArray(input) && input.length === 1 ? input[0] : input);
    this.outShape = parseBatchShape(output);
  }
}

export function parseBatchShape(batch: unknown): BatchShape {
  if (batch instanceof tf.Tensor) return [...batch.shape];
  if (Array.isArray(batch)) return batch.map(parseBatchShape) as BatchShape[];
  return UNKNOWN_SIZE;
}

/** Bits per parameter for the size estimate: 16 for true half precision, else 32 (mixed precision keeps fp32 master weights). */
function precisionBits(precision: string | null): number {
  switch (precision) {
    case "16-true":
    case "bf16-true":
    case "16":
    case "bf16":
      return 16;
    case "64-true":
    case "64":
      return 64;
    default:
      return 32;
  }
}

export interface SummarizeOptions {
  /** The Trainer's precision (`"32-true"`, `"16-true"`, …) for the size estimate; default 32-bit. */
  precision?: string | null;
  /** Runs the example forward pass under the precision plugin's context. */
  forwardContext?: <T>(fn: () => T) => T;
}

export class ModelSummaryTable {
  readonly maxDepth: number;
  /** Row name → summary, in module order. */
  readonly layers: Map<string, LayerSummary>;
  private readonly precisionMegabytes: number;

  constructor(
    readonly model: Module,
    maxDepth = 1,
    options: SummarizeOptions = {},
  ) {
    if (!Number.isInteger(maxDepth) || maxDepth < -1) throw new Error(`\`maxDepth\` can be -1, 0 or > 0, got ${maxDepth}.`);
    this.maxDepth = maxDepth;
    this.precisionMegabytes = (precisionBits(options.precision ?? null) / 8.0) * 1e-6;
    this.layers = new Map(this.namedModules().map(([name, m]) => [name, new LayerSummary(m)]));
    const example = (model as unknown as { exampleInputArray?: unknown }).exampleInputArray;
    if (example !== undefined && example !== null) this.forwardExampleInput(example, options.forwardContext);
  }

  /** The rows: submodules up to `maxDepth` levels below the root (-1: all), in definition order, each module once. */
  private namedModules(): Array<[string, Module]> {
    if (this.maxDepth === 0) return [];
    const out: Array<[string, Module]> = [];
    const seen = new Set<Module>([this.model]);
    // Depth is nesting, not dots: a plain array of modules (`layers.0`) is one level, as a ModuleList is in PyTorch.
    const walk = (m: Module, prefix: string, depth: number) => {
      for (const [name, child] of m.namedChildren()) {
        if (seen.has(child)) continue;
        seen.add(child);
        const full = prefix ? `${prefix}.${name}` : name;
        out.push([full, child]);
        if (this.maxDepth === -1 || depth + 1 < this.maxDepth) walk(child, full, depth + 1);
      }
    };
    walk(this.model, "", 0);
    return out;
  }

  private forwardExampleInput(input: unknown, forwardContext?: <T>(fn: () => T) => T): void {
    const modes = new Map(this.model.modules().map((m) => [m, m.training]));
    const restore: Array<() => void> = [];
    for (const layer of this.layers.values()) {
      const m = layer.module as Module & { forward: (...a: unknown[]) => unknown };
      const hadOwn = Object.prototype.hasOwnProperty.call(m, "forward");
      const original = m.forward;
      // Shadow `forward` on the instance (non-enumerable, so it is never taken for a submodule) to see its inputs and output.
      Object.defineProperty(m, "forward", {
        configurable: true,
        enumerable: false,
        writable: true,
        value: function (this: unknown, ...args: unknown[]) {
          const out = original.apply(this, args);
          layer.record(args, out);
          return out;
        },
      });
      restore.push(() => {
        if (hadOwn) Object.defineProperty(m, "forward", { configurable: true, enumerable: false, writable: true, value: original });
        else delete (m as { forward?: unknown }).forward;
      });
    }
    const run = () =>
      tf.tidy(() => {
        noGrad(() => {
          const model = this.model as Module & { forward: (...a: unknown[]) => unknown };
          if (Array.isArray(input)) model.forward(...input);
          else model.forward(input);
        });
      });
    try {
      this.model.eval();
      if (forwardContext) forwardContext(run);
      else run();
    } finally {
      for (const r of restore) r();
      for (const [m, training] of modes) m.training = training;
    }
  }

  get layerNames(): string[] {
    return [...this.layers.keys()];
  }

  get layerTypes(): string[] {
    return [...this.layers.values()].map((l) => l.layerType);
  }

  get inSizes(): BatchShape[] {
    return [...this.layers.values()].map((l) => l.inSize);
  }

  get outSizes(): BatchShape[] {
    return [...this.layers.values()].map((l) => l.outSize);
  }

  get paramNums(): number[] {
    return [...this.layers.values()].map((l) => l.numParameters);
  }

  get trainingModes(): boolean[] {
    return [...this.layers.values()].map((l) => l.training);
  }

  /** How many submodules (all depths, the root excluded) are in train and in eval mode. */
  get totalTrainingModes(): { train: number; eval: number } {
    const modes = this.model.modules().slice(1).map((m) => m.training);
    return { train: modes.filter((t) => t).length, eval: modes.filter((t) => !t).length };
  }

  get totalParameters(): number {
    return this.model.parameters().reduce((n, p) => n + p.size, 0);
  }

  get trainableParameters(): number {
    return this.model
      .parameters()
      .filter((p) => p.trainable)
      .reduce((n, p) => n + p.size, 0);
  }

  get totalLayerParams(): number {
    return this.paramNums.reduce((a, b) => a + b, 0);
  }

  /** Estimated size of the parameters in MB. */
  get modelSize(): number {
    return this.totalParameters * this.precisionMegabytes;
  }

  private get hasExampleInput(): boolean {
    const ex = (this.model as unknown as { exampleInputArray?: unknown }).exampleInputArray;
    return ex !== undefined && ex !== null;
  }

  /** The table's columns (Lightning's `_get_summary_data`). */
  summaryData(): Array<[string, string[]]> {
    const cols: Array<[string, string[]]> = [
      [" ", this.layerNames.map((_, i) => String(i))],
      ["Name", this.layerNames],
      ["Type", this.layerTypes],
      ["Params", this.paramNums.map(getHumanReadableCount)],
      ["Mode", this.trainingModes.map((t) => (t ? "train" : "eval"))],
    ];
    if (this.hasExampleInput) {
      cols.push(["In sizes", this.inSizes.map(shapeStr)]);
      cols.push(["Out sizes", this.outSizes.map(shapeStr)]);
    }
    // Parameters owned by no listed layer (the root's own, or below a depth not shown at depth 0).
    const leftover = this.totalParameters - this.totalLayerParams;
    if (leftover > 0) {
      for (const [header, values] of cols) {
        if (header === " ") values.push(" ");
        else if (header === "Name") values.push(LEFTOVER_PARAMS_NAME);
        else if (header === "Params") values.push(getHumanReadableCount(leftover));
        else values.push(NOT_APPLICABLE);
      }
    }
    return cols;
  }

  toString(): string {
    return formatSummaryTable(this.totalParameters, this.trainableParameters, this.modelSize, this.totalTrainingModes, this.summaryData());
  }
}

/** `summarize(module, maxDepth)`: Lightning's `summarize`, the structured summary of a module. */
export function summarize(module: Module, maxDepth = 1, options: SummarizeOptions = {}): ModelSummaryTable {
  return new ModelSummaryTable(module, maxDepth, options);
}

/** Python's `str(list)` of a shape: `[10, 256]`, `[[1, 2], '?']`, or `?`. */
function shapeStr(s: BatchShape): string {
  if (typeof s === "string") return s;
  const item = (x: BatchShape | number): string => (typeof x === "number" ? String(x) : typeof x === "string" ? `'${x}'` : shapeStr(x));
  return `[${(s as Array<BatchShape | number>).map(item).join(", ")}]`;
}

/** Lightning's `_format_summary_table`. */
export function formatSummaryTable(
  totalParameters: number,
  trainableParameters: number,
  modelSize: number,
  totalTrainingModes: { train: number; eval: number },
  cols: Array<[string, string[]]>,
): string {
  const nRows = cols[0][1].length;
  const nCols = 1 + cols.length;
  const widths = cols.map(([header, values]) => Math.max(nRows ? Math.max(...values.map((v) => v.length)) : 0, header.length));
  const totalWidth = widths.reduce((a, b) => a + b, 0) + 3 * nCols;
  const left = (s: string, w: number) => s.padEnd(w);
  let summary = cols.map(([h], i) => left(h, widths[i])).join(" | ") + "\n" + "-".repeat(totalWidth);
  for (let r = 0; r < nRows; r++) summary += "\n" + cols.map(([, v], i) => left(v[r], widths[i])).join(" | ");
  summary += "\n" + "-".repeat(totalWidth);
  summary += "\n" + left(getHumanReadableCount(trainableParameters), 10) + "Trainable params";
  summary += "\n" + left(getHumanReadableCount(totalParameters - trainableParameters), 10) + "Non-trainable params";
  summary += "\n" + left(getHumanReadableCount(totalParameters), 10) + "Total params";
  summary += "\n" + left(getFormattedModelSize(modelSize), 10) + "Total estimated model params size (MB)";
  summary += "\n" + left(String(totalTrainingModes.train), 10) + "Modules in train mode";
  summary += "\n" + left(String(totalTrainingModes.eval), 10) + "Modules in eval mode";
  return summary;
}

/** `1,234.568`: the size in MB with three decimals. */
export function getFormattedModelSize(totalModelSize: number): string {
  return formatPyNumber(pyFloat(totalModelSize), ",.3f");
}

/**
 * Lightning's `get_human_readable_count`: `123  `, `1.2 K`, `101 K`, `2.0 M`, `3.0 B`,
 * `400 T`, `5,000 T` (three significant digits at most, never beyond trillions).
 */
export function getHumanReadableCount(number: number): string {
  if (!(number >= 0)) throw new Error(`getHumanReadableCount(): expected a non-negative count, got ${number}`);
  const labels = PARAMETER_NUM_UNITS;
  const numDigits = number > 0 ? Math.floor(Math.log10(number)) + 1 : 1;
  const numGroups = Math.min(Math.ceil(numDigits / 3), labels.length);
  const shift = -3 * (numGroups - 1);
  // `number * 10**shift` in the same float arithmetic as Python's, so the rounding agrees.
  const scaled = number * 10 ** shift;
  const index = numGroups - 1;
  if (index < 1 || scaled >= 100) return `${formatPyNumber(pyInt(Math.trunc(scaled)), ",d")} ${labels[index]}`;
  return `${formatPyNumber(pyFloat(scaled), ",.1f")} ${labels[index]}`;
}
