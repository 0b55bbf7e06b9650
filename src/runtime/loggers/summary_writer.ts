/**
 * `SummaryWriter`: the object `TensorBoardLogger.experiment` hands out, with PyTorch's
 * `torch.utils.tensorboard.SummaryWriter` names and argument order: `addScalar`, `addImage`,
 * `addImages`, `addHistogram`, `addText`, `addSummary`, `flush`, `close`.
 *
 * Like PyTorch's, it opens its event file on construction and, if used again after `close()`,
 * starts a new file in the same directory (TensorBoard merges all event files of a directory
 * into one run), so `fit()` followed by `test()` on one logger keeps working.
 */
import { EVENT_FILE_WRITER_OPTION_KEYS, EventFileWriter, wallTime, type EventFileWriterOptions } from "./event_file_writer.ts";
import type { EventMessage, SummaryMessage } from "./event_protos.ts";
import type { tf } from "../../torch/tf.ts";
import { imageSummary, type ImageDataFormat } from "./summaries/image.ts";
import { histogramSummary } from "./summaries/histogram.ts";
import { textSummary } from "./summaries/text.ts";
import { checkOptionKeys } from "../utilities/option_keys.ts";

export type SummaryWriterOptions = EventFileWriterOptions;

export class SummaryWriter {
  private file: EventFileWriter;

  constructor(
    readonly logDir: string,
    private readonly options: SummaryWriterOptions = {},
  ) {
    checkOptionKeys(options, EVENT_FILE_WRITER_OPTION_KEYS, "SummaryWriter");
    this.file = new EventFileWriter(logDir, options);
  }

  /** The event file currently written to. */
  get filePath(): string {
    return this.file.filePath;
  }

  /** Logs `value` under `tag` at `globalStep` (the x-axis in TensorBoard). */
  addScalar(tag: string, value: number, globalStep?: number, walltime?: number): void {
    if (typeof value !== "number") throw new TypeError(`scalar '${tag}' must be a number, got ${typeof value}`);
    this.addSummary({ value: [{ tag, simple_value: value }] }, globalStep, walltime);
  }

  /**
   * Logs an image: `img` as `dataformats` ("CHW" by default, or "HWC", "HW"), floats in [0, 1] or
   * integers in [0, 255]; one channel is shown as grey, 4 as RGBA. Stored as a PNG.
   */
  addImage(tag: string, img: tf.Tensor, globalStep?: number, options?: { dataformats?: ImageDataFormat }): void;
  addImage(tag: string, img: tf.Tensor, globalStep?: number, walltime?: number, options?: { dataformats?: ImageDataFormat }): void;
  addImage(tag: string, img: tf.Tensor, globalStep?: number, ...rest: Array<number | undefined | { dataformats?: ImageDataFormat }>): void {
    const [walltime, options] = walltimeAndOptions(rest);
    this.addSummary({ value: [{ tag, image: imageSummary(img, options.dataformats ?? "CHW") }] }, globalStep, walltime);
  }

  /** Logs a batch of images ("NCHW" by default, or "NHWC") as one image, 8 per row. */
  addImages(tag: string, imgTensor: tf.Tensor, globalStep?: number, options?: { dataformats?: "NCHW" | "NHWC" }): void;
  addImages(tag: string, imgTensor: tf.Tensor, globalStep?: number, walltime?: number, options?: { dataformats?: "NCHW" | "NHWC" }): void;
  addImages(tag: string, imgTensor: tf.Tensor, globalStep?: number, ...rest: Array<number | undefined | { dataformats?: "NCHW" | "NHWC" }>): void {
    const [walltime, options] = walltimeAndOptions(rest);
    this.addSummary({ value: [{ tag, image: imageSummary(imgTensor, options.dataformats ?? "NCHW") }] }, globalStep, walltime);
  }

  /** Logs the distribution of `values` (weights, gradients) in TensorFlow's default buckets. */
  addHistogram(tag: string, values: tf.Tensor | ArrayLike<number>, globalStep?: number, walltime?: number): void {
    this.addSummary({ value: [{ tag, histo: histogramSummary(values) }] }, globalStep, walltime);
  }

  /** Logs text (rendered as Markdown by TensorBoard's text dashboard). */
  addText(tag: string, text: string, globalStep?: number, walltime?: number): void {
    this.addSummary({ value: [textSummary(tag, text)] }, globalStep, walltime);
  }

  /** Writes a prepared `Summary` as one event. */
  addSummary(summary: SummaryMessage, globalStep?: number, walltime?: number): void {
    const event: EventMessage = { wall_time: walltime ?? wallTime(), summary };
    // Step 0 is left out like any proto3 default (readers see 0 either way), which keeps the
    // bytes identical to what TensorBoard's own writer produces.
    if (globalStep !== undefined && Math.trunc(globalStep) !== 0) event.step = Math.trunc(globalStep);
    this.fileWriter().addEvent(event);
  }

  flush(): void {
    if (!this.file.closed) this.file.flush();
  }

  close(): void {
    this.file.close();
  }

  private fileWriter(): EventFileWriter {
    if (this.file.closed) this.file = new EventFileWriter(this.logDir, this.options);
    return this.file;
  }
}

/** `(walltime?, options?)` or `(options?)` after the global step: PyTorch's positional walltime, or the keyword options straight away. */
function walltimeAndOptions<O extends object>(rest: Array<number | undefined | O>): [number | undefined, O] {
  const [first, second] = rest;
  if (first !== null && typeof first === "object") return [undefined, first];
  return [first as number | undefined, (second as O | undefined) ?? ({} as O)];
}
