/**
 * The thread that talks to the other ranks (see sync_collectives.ts): it holds the TCPStore
 * (rank 0 serves it, so that the store answers while rank 0's main thread waits in a
 * collective) and the ring, runs each collective the main thread asks for, posts the result on
 * the result port, then wakes the main thread through the shared control word.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { RingCollectives, type ReduceOp } from "./ring_collectives.ts";
import { TCPStoreClient } from "./tcp_store_client.ts";
import { TCPStoreServer } from "./tcp_store_server.ts";

export interface CollectivesWorkerData {
  rank: number;
  worldSize: number;
  host: string;
  port: number;
  /** Rank 0 of a self-launched job serves the store; under torchrun the agent does. */
  serveStore: boolean;
  timeoutMs: number;
  source: string;
  control: SharedArrayBuffer;
  results: MessagePort;
}

export type CollectiveRequest =
  | { op: "allReduce"; data: Float32Array; reduceOp: ReduceOp }
  | { op: "broadcast"; data: Uint8Array; src: number }
  | { op: "allGather"; data: Float32Array }
  | { op: "barrier" }
  | { op: "close" };

export type CollectiveResult = { ok: true; value: Float32Array | Uint8Array | Float32Array[] | null } | { ok: false; error: string };

/** control[0]: how many requests are done (their results are on the port, in order). */

const data = workerData as CollectivesWorkerData;
const control = new Int32Array(data.control);

async function start(): Promise<{ ring: RingCollectives; store: TCPStoreClient; server: TCPStoreServer | null }> {
  const server = data.serveStore ? await TCPStoreServer.start(data.port, "0.0.0.0") : null;
  const store = await TCPStoreClient.connect(data.host, data.port, { timeoutMs: data.timeoutMs, source: data.source });
  try {
    const ring = await RingCollectives.connect(store, data.rank, data.worldSize);
    return { ring, store, server };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(`not every rank of WORLD_SIZE=${data.worldSize} joined through the store at ${data.host}:${data.port} (${data.source}): ${why}`);
  }
}

function reply(result: CollectiveResult): void {
  const transfer = result.ok && result.value !== null ? (Array.isArray(result.value) ? result.value.map((v) => v.buffer) : [result.value.buffer]) : [];
  data.results.postMessage(result, transfer as ArrayBuffer[]);
  Atomics.add(control, 0, 1);
  Atomics.notify(control, 0);
}

start().then(
  ({ ring, store, server }) => {
    parentPort!.postMessage({ ready: true });
    // One request at a time, in the order posted (the main thread may post several before it
    // waits for them: DDP's gradient buckets).
    let queue = Promise.resolve();
    parentPort!.on("message", (request: CollectiveRequest) => {
      queue = queue.then(async () => {
        try {
          switch (request.op) {
            case "allReduce":
              // (the buffer was transferred here: reduce into it)
              return reply({ ok: true, value: await ring.allReduce(request.data, request.reduceOp, true) });
            case "broadcast":
              return reply({ ok: true, value: await ring.broadcast(request.data, request.src) });
            case "allGather":
              return reply({ ok: true, value: await ring.allGather(request.data) });
            case "barrier":
              await ring.barrier();
              return reply({ ok: true, value: null });
            case "close":
              ring.close();
              store.close();
              await server?.close();
              reply({ ok: true, value: null });
              parentPort!.close();
              return;
          }
        } catch (e) {
          reply({ ok: false, error: e instanceof Error ? e.message : String(e) });
        }
      });
    });
  },
  (e: unknown) => parentPort!.postMessage({ ready: false, error: e instanceof Error ? e.message : String(e) }),
);
