/**
 * Collectives the main thread calls synchronously, as Lite's `backward()` and the strategies'
 * `allReduce`/`broadcast`/`barrier` are (torch.distributed's calls block too). Node has no
 * blocking sockets, so the sockets live on a worker thread (collectives_worker.ts): the main
 * thread posts a request, waits on a shared word with `Atomics.wait` (the worker's event loop
 * keeps running the sockets meanwhile), and takes the result off a message port with
 * `receiveMessageOnPort`.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { DistributedError } from "../../errors.ts";
import type { CollectiveRequest, CollectiveResult, CollectivesWorkerData } from "./collectives_worker.ts";
import type { ReduceOp } from "./ring_collectives.ts";

export interface SyncCollectivesOptions {
  rank: number;
  worldSize: number;
  /** The TCPStore's address (MASTER_ADDR, MASTER_PORT). */
  host: string;
  port: number;
  serveStore: boolean;
  /** Rendezvous and per-collective timeout (default 30 s). */
  timeoutMs?: number;
  /** Where the address came from, for error messages. */
  source?: string;
}

const WORKER_URL = new URL(`./collectives_worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url);

/** A worker running this package's own code, from its TypeScript sources when that is what runs (tsx, vitest). */
function startWorker(workerData: CollectivesWorkerData, transfer: MessagePort[]): Worker {
  if (!WORKER_URL.href.endsWith(".ts")) return new Worker(WORKER_URL, { workerData, transferList: transfer });
  // Loader hooks do not reach worker threads on Node 20: the worker imports tsx's API itself.
  // (its ESM entry: `require.resolve` would give the CommonJS one, which cannot tsImport)
  const require = createRequire(import.meta.url);
  const tsxRoot = dirname(require.resolve("tsx/package.json"));
  const exportsMap = (require("tsx/package.json") as { exports: Record<string, { import: { default: string } }> }).exports;
  const tsxApi = pathToFileURL(join(tsxRoot, exportsMap["./esm/api"]!.import.default)).href;
  const code = `import(${JSON.stringify(tsxApi)}).then((api) => api.tsImport(${JSON.stringify(WORKER_URL.href)}, ${JSON.stringify(WORKER_URL.href)}))`;
  return new Worker(code, { eval: true, workerData, transferList: transfer });
}

export class SyncCollectives {
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    private readonly control: Int32Array,
    private readonly results: MessagePort,
    private readonly timeoutMs: number,
    readonly rank: number,
    readonly worldSize: number,
  ) {}

  /** Starts the worker and joins the job (store, then ring); resolves once every rank is connected. */
  static async start(options: SyncCollectivesOptions): Promise<SyncCollectives> {
    const control = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new MessageChannel();
    const timeoutMs = options.timeoutMs ?? 30_000;
    const worker = startWorker(
      {
        rank: options.rank,
        worldSize: options.worldSize,
        host: options.host,
        port: options.port,
        serveStore: options.serveStore,
        timeoutMs,
        source: options.source ?? "MASTER_ADDR:MASTER_PORT",
        control: control.buffer as SharedArrayBuffer,
        results: port2,
      },
      [port2],
    );
    await new Promise<void>((resolve, reject) => {
      worker.once("message", (m: { ready: boolean; error?: string }) =>
        m.ready ? resolve() : reject(new DistributedError(`rank ${options.rank} could not join the job: ${m.error}`)),
      );
      worker.once("error", (e) => reject(new DistributedError(`rank ${options.rank}: the collectives thread failed: ${e.message}`)));
    });
    // The worker must not keep the process alive once training is over.
    worker.unref();
    return new SyncCollectives(worker, control, port1, timeoutMs, options.rank, options.worldSize);
  }

  /** Requests posted so far; results taken off the port so far (both in order). */
  private posted = 0;
  private taken = 0;
  /** Results taken off the port before their caller asked for them. */
  private readonly early = new Map<number, CollectiveResult | undefined>();

  /** Posts a request to the collectives thread without waiting: its ticket for `result`. */
  private post(request: CollectiveRequest, transfer: ArrayBuffer[] = []): number {
    if (this.closed) throw new DistributedError(`${request.op}: the collectives of rank ${this.rank} are closed`);
    this.worker.postMessage(request, transfer);
    return ++this.posted;
  }

  /** Waits for the result of the request with `ticket` (the thread runs requests in order, and counts them done in control[0]). */
  private result(ticket: number, op: string): CollectiveResult & { ok: true } {
    const deadline = Date.now() + this.timeoutMs;
    while (this.taken < ticket) {
      const done = Atomics.load(this.control, 0);
      if (done > this.taken) {
        this.early.set(++this.taken, receiveMessageOnPort(this.results)?.message as CollectiveResult | undefined);
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(this.control, 0, done, left) === "timed-out") {
        throw new DistributedError(`${op} on rank ${this.rank} timed out after ${this.timeoutMs / 1000} s: another rank did not join it (did one fail or stop?)`);
      }
    }
    const result = this.early.get(ticket);
    this.early.delete(ticket);
    if (!result) throw new DistributedError(`${op} on rank ${this.rank}: the collectives thread gave no result`);
    if (!result.ok) throw new DistributedError(`${op} on rank ${this.rank} failed: ${result.error}`);
    return result;
  }

  private call(request: CollectiveRequest, transfer: ArrayBuffer[] = []): CollectiveResult & { ok: true } {
    return this.result(this.post(request, transfer), request.op);
  }

  /**
   * The element-wise reduction of every rank's `data` (same length on every rank). `handOver`:
   * the caller gives `data` away (a buffer of its own, built for this call, such as DDP's
   * gradient bucket): it moves to the collectives thread instead of being copied, and is
   * unusable after the call.
   */
  allReduce(data: Float32Array, op: ReduceOp, handOver = false): Float32Array {
    return this.startAllReduce(data, op, handOver).wait();
  }

  /**
   * `allReduce` started on the collectives thread while this thread goes on (DDP's buckets,
   * reduced while the backward pass computes the earlier layers' gradients); `wait()` blocks
   * for its result. Every rank must start the same collectives in the same order.
   */
  startAllReduce(data: Float32Array, op: ReduceOp, handOver = false): { wait(): Float32Array } {
    const sent = handOver && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && !(data.buffer instanceof SharedArrayBuffer) ? data : data.slice();
    const ticket = this.post({ op: "allReduce", data: sent, reduceOp: op }, [sent.buffer as ArrayBuffer]);
    return { wait: () => this.result(ticket, "allReduce").value as Float32Array };
  }

  /** `src`'s bytes on every rank (the others' `data` is ignored). */
  broadcast(data: Uint8Array, src: number): Uint8Array {
    const copy = data.slice();
    return this.call({ op: "broadcast", data: copy, src }, [copy.buffer]).value as Uint8Array;
  }

  /** Every rank's `data`, in rank order. */
  allGather(data: Float32Array): Float32Array[] {
    const copy = data.slice();
    return this.call({ op: "allGather", data: copy }, [copy.buffer]).value as Float32Array[];
  }

  barrier(): void {
    this.call({ op: "barrier" });
  }

  close(): void {
    if (this.closed) return;
    try {
      this.call({ op: "close" });
    } finally {
      this.closed = true;
      this.results.close();
    }
  }
}
