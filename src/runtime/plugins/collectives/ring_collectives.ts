/**
 * Collectives between the ranks of a job over TCP, as Gloo does them: the ranks form a ring
 * (each connects to the next, addresses exchanged through the TCPStore), and
 * - `allReduce` is a ring reduce-scatter then a ring all-gather: each rank sends and receives
 *   (N−1)/N of the buffer twice, whatever N (bandwidth-optimal); each chunk is reduced once, in
 *   ring order, in float32, and then copied, so every rank ends with the same bits;
 * - `broadcast` passes the buffer around the ring from its source;
 * - `allGather` passes each rank's piece around the ring;
 * - `barrier` is an all-reduce of one number.
 * Calls must be made in the same order on every rank (as with torch.distributed).
 */
import net from "node:net";
import type { TCPStoreClient } from "./tcp_store_client.ts";
import { StreamReader, encodeU64 } from "./tcp_store_protocol.ts";

export type ReduceOp = "sum" | "mean" | "max" | "min";

/** Length-prefixed messages on one socket, read in order. */
class Channel {
  private readonly reader = new StreamReader();
  private readonly waiting: Array<{ resolve: (b: Buffer) => void; reject: (e: Error) => void }> = [];
  private readonly ready: Buffer[] = [];
  /** Set once the peer is gone: every receive from then on fails with it. */
  private failure: Error | null = null;

  constructor(
    readonly socket: net.Socket,
    peer: string,
  ) {
    socket.setNoDelay(true);
    const fail = (why: string) => {
      this.failure ??= new Error(`the connection to ${peer} ${why} (did that rank fail or stop?)`);
      for (const w of this.waiting.splice(0)) w.reject(this.failure);
    };
    socket.on("error", (e) => fail(`failed: ${e.message}`));
    socket.on("close", () => fail("closed"));
    socket.on("data", (chunk: Buffer) => {
      this.reader.push(chunk);
      for (;;) {
        const mark = this.reader.mark();
        const message = this.reader.bytes();
        if (message === null) {
          this.reader.rollback(mark);
          break;
        }
        const w = this.waiting.shift();
        if (w) w.resolve(message);
        else this.ready.push(message);
      }
    });
  }

  send(bytes: Uint8Array): void {
    this.socket.write(Buffer.concat([encodeU64(bytes.byteLength), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]));
  }

  receive(): Promise<Buffer> {
    const r = this.ready.shift();
    if (r) return Promise.resolve(r);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }
}

function floats(b: Buffer): Float32Array {
  // (a copy: the message's bytes may not be 4-byte aligned)
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

export class RingCollectives {
  private constructor(
    readonly rank: number,
    readonly worldSize: number,
    private readonly right: Channel | null,
    private readonly left: Channel | null,
    private readonly server: net.Server | null,
  ) {}

  /**
   * Joins the ring: listens on a free port of `host`, publishes it under `<prefix>/<rank>` in the
   * store, connects to the next rank and accepts the previous one.
   */
  static async connect(store: TCPStoreClient, rank: number, worldSize: number, host = "127.0.0.1", prefix = "ring"): Promise<RingCollectives> {
    if (worldSize === 1) return new RingCollectives(0, 1, null, null, null);
    const server = net.createServer();
    const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
    await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
    await store.set(`${prefix}/${rank}`, `${host}:${(server.address() as net.AddressInfo).port}`);
    const next = (rank + 1) % worldSize;
    const [nextHost, nextPort] = (await store.get(`${prefix}/${next}`)).toString().split(":");
    const right = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: nextHost!, port: Number(nextPort) }, () => resolve(s));
      s.once("error", reject);
    });
    const left = await accepted;
    return new RingCollectives(rank, worldSize, new Channel(right, `rank ${next}`), new Channel(left, `rank ${(rank - 1 + worldSize) % worldSize}`), server);
  }

  /** The element-wise reduction of every rank's `data` (same length everywhere), on every rank. */
  async allReduce(data: Float32Array, op: ReduceOp = "sum"): Promise<Float32Array> {
    const n = this.worldSize;
    const out = Float32Array.from(data);
    if (n > 1) {
      const bounds = (c: number): [number, number] => [Math.floor((c * out.length) / n), Math.floor(((c + 1) * out.length) / n)];
      const chunk = (c: number) => out.subarray(...bounds(((c % n) + n) % n));
      const combine = op === "max" ? Math.max : op === "min" ? Math.min : (a: number, b: number) => a + b;
      // reduce-scatter: after step s, chunk (rank − s − 1) holds the reduction of s + 2 ranks
      for (let s = 0; s < n - 1; s++) {
        this.right!.send(new Uint8Array(chunk(this.rank - s).slice().buffer));
        const incoming = floats(await this.left!.receive());
        const mine = chunk(this.rank - s - 1);
        for (let i = 0; i < mine.length; i++) mine[i] = combine(incoming[i]!, mine[i]!);
      }
      // all-gather: rank r now holds the finished chunk r + 1; pass the finished chunks along
      for (let s = 0; s < n - 1; s++) {
        this.right!.send(new Uint8Array(chunk(this.rank + 1 - s).slice().buffer));
        chunk(this.rank - s).set(floats(await this.left!.receive()));
      }
    }
    if (op === "mean") for (let i = 0; i < out.length; i++) out[i] = out[i]! / n;
    return out;
  }

  /** `src`'s bytes, on every rank (other ranks' `data` is ignored). */
  async broadcast(data: Uint8Array, src = 0): Promise<Uint8Array> {
    if (this.worldSize === 1) return data;
    if (this.rank === src) {
      this.right!.send(data);
      return data;
    }
    const received = new Uint8Array(await this.left!.receive());
    if ((this.rank + 1) % this.worldSize !== src) this.right!.send(received);
    return received;
  }

  /** Every rank's `data`, in rank order, on every rank. */
  async allGather(data: Float32Array): Promise<Float32Array[]> {
    const pieces: Float32Array[] = new Array(this.worldSize);
    pieces[this.rank] = Float32Array.from(data);
    for (let s = 0; s < this.worldSize - 1; s++) {
      const from = (this.rank - s + this.worldSize) % this.worldSize;
      this.right!.send(new Uint8Array(pieces[from]!.slice().buffer));
      pieces[(this.rank - s - 1 + this.worldSize) % this.worldSize] = floats(await this.left!.receive());
    }
    return pieces;
  }

  /** Resolves once every rank has called it. */
  async barrier(): Promise<void> {
    await this.allReduce(new Float32Array([0]));
  }

  close(): void {
    this.right?.socket.destroy();
    this.left?.socket.destroy();
    this.server?.close();
  }
}
