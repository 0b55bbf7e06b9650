/**
 * One TensorBoard event file: `events.out.tfevents.<unix seconds>.<hostname>.<pid>.<n>`, a
 * sequence of TFRecord-framed `Event` protos that opens with a `file_version` event.
 *
 * Behaves like TensorBoard's Python `EventFileWriter` (which PyTorch's `SummaryWriter` and so
 * Lightning use): events are queued and written when `maxQueue` are pending, when `flushSecs`
 * have passed, on `flush()` / `close()`, and at process exit, so a script that never reaches
 * `finalize()` (an exception, Ctrl-C handled by Node) still leaves a readable file. Writes are
 * appends of whole records, which TensorBoard can read while the file grows.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { encodeEvent, type EventMessage } from "./event_protos.ts";
import { encodeRecord } from "./tfrecord.ts";
import { optionKeys } from "../utilities/option_keys.ts";

export const EVENT_FILE_VERSION = "brain.Event:2";
/** Recorded in the first event's `source_metadata`, as TensorBoard's writer records its own name. */
export const EVENT_WRITER_NAME = "lightning-ts";

export interface EventFileWriterOptions {
  /** Events held in memory before they are written out (TensorBoard's default: 10). */
  maxQueue?: number;
  /** Longest time, in seconds, an event waits in memory (TensorBoard's default: 120). */
  flushSecs?: number;
  /** Appended to the file name. */
  filenameSuffix?: string;
}

/** Checked in the constructor (utilities/option_keys.ts). */
export const EVENT_FILE_WRITER_OPTION_KEYS = optionKeys<EventFileWriterOptions>()(["maxQueue", "flushSecs", "filenameSuffix"]);

/**
 * Seconds since the epoch, like Python's `time.time()`. The system clock, not the monotonic one:
 * TensorBoard shows wall time as a date, and a week-long run must not drift from it.
 */
export function wallTime(): number {
  return Date.now() / 1000;
}

/** Per-process counter that makes file names unique when several writers open in one second. */
let nextFileUid = 0;

/** Writers with data possibly still in memory; flushed synchronously when the process exits. */
const openWriters = new Set<EventFileWriter>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const writer of openWriters) {
      try {
        writer.close();
      } catch {
        // Exiting: a failed flush of one file must not stop the others from being written.
      }
    }
  });
}

export class EventFileWriter {
  readonly filePath: string;
  private fd: number | undefined;
  private readonly pending: Uint8Array[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly maxQueue: number;
  private readonly flushMs: number;

  constructor(
    readonly logDir: string,
    options: EventFileWriterOptions = {},
  ) {
    this.maxQueue = options.maxQueue ?? 10;
    this.flushMs = (options.flushSecs ?? 120) * 1000;
    if (!(this.maxQueue >= 1)) throw new Error(`maxQueue must be at least 1, got ${options.maxQueue}`);
    if (!(this.flushMs > 0)) throw new Error(`flushSecs must be positive, got ${options.flushSecs}`);

    fs.mkdirSync(logDir, { recursive: true });
    const seconds = String(Math.floor(Date.now() / 1000)).padStart(10, "0");
    const name = `events.out.tfevents.${seconds}.${os.hostname()}.${process.pid}.${nextFileUid++}`;
    this.filePath = path.join(logDir, name + (options.filenameSuffix ?? ""));
    this.fd = fs.openSync(this.filePath, "w");
    openWriters.add(this);
    installExitHook();

    // The version record goes out at once: a reader recognises the file by it, even while the
    // run has logged nothing yet.
    this.addEvent({
      wall_time: wallTime(),
      file_version: EVENT_FILE_VERSION,
      source_metadata: { writer: EVENT_WRITER_NAME },
    });
    this.flush();
  }

  get closed(): boolean {
    return this.fd === undefined;
  }

  /** Queues one event. */
  addEvent(event: EventMessage): void {
    if (this.fd === undefined) throw new Error(`event file ${this.filePath} is closed`);
    this.pending.push(encodeRecord(encodeEvent(event)));
    if (this.pending.length >= this.maxQueue) {
      this.flush();
    } else if (this.timer === undefined) {
      // unref: a pending flush must not keep a finished script alive for two minutes; the exit
      // hook writes whatever is left.
      this.timer = setTimeout(() => this.flush(), this.flushMs).unref();
    }
  }

  /** Writes every queued event to the file. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.fd === undefined || this.pending.length === 0) return;
    const data = Buffer.concat(this.pending.splice(0));
    let offset = 0;
    while (offset < data.length) offset += fs.writeSync(this.fd, data, offset);
  }

  /** Flushes and closes the file; further events are refused. Closing twice is harmless. */
  close(): void {
    if (this.fd === undefined) return;
    try {
      this.flush();
    } finally {
      fs.closeSync(this.fd);
      this.fd = undefined;
      openWriters.delete(this);
    }
  }
}
