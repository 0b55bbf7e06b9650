/**
 * `SummaryWriter`: the object `TensorBoardLogger.experiment` hands out, with the part of PyTorch's
 * `torch.utils.tensorboard.SummaryWriter` API that scalar logging needs (`addScalar`,
 * `addSummary`, `flush`, `close`).
 *
 * Like PyTorch's, it opens its event file on construction and, if used again after `close()`,
 * starts a new file in the same directory (TensorBoard merges all event files of a directory
 * into one run), so `fit()` followed by `test()` on one logger keeps working.
 */
import { EVENT_FILE_WRITER_OPTION_KEYS, EventFileWriter, wallTime, type EventFileWriterOptions } from "./event_file_writer.ts";
import type { EventMessage, SummaryMessage } from "./event_protos.ts";
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
