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
import { encodeU64 } from "./tcp_store_protocol.ts";
import { FloatReduction } from "./float_reduction.ts";
// (types only: the strategies' reductions, each of which the ring implements)
import type { ReduceOp } from "../../strategies/strategy.ts";

export type { ReduceOp };

/**
 * Length-prefixed messages on one socket, read in order. A receiving channel's socket reads
 * straight into the message's destination (`onread` with a buffer per read: the 8-byte header,
 * then the rest of the body — the receiver's own buffer when one waits for a message of that
 * length), so the bytes are copied once, by the kernel, with no chunk allocated per read; a
 * body starts on a fresh allocation otherwise, so a float payload is read in place.
 */
class Channel {
  /** Receivers in order; `into`: where the message's body goes, when its length matches. */
  private readonly waiting: Array<{ resolve: (b: Uint8Array) => void; reject: (e: Error) => void; into?: Uint8Array }> = [];
  private readonly ready: Uint8Array[] = [];
  /** Set once the peer is gone: every receive from then on fails with it. */
  private failure: Error | null = null;
  /** Sends not yet handed to the system, by their promise's reject. */
  private readonly unsent = new Set<(e: Error) => void>();
  private readonly header = Buffer.alloc(8);
  private headerFilled = 0;
  private body: Uint8Array | null = null;
  private bodyFilled = 0;

  /** Set by `attach`, as the channel is made (a receiving socket needs the channel first: `connectReceiving`). */
  socket!: net.Socket;

  private constructor(private readonly peer: string) {}

  /** The sending end of a channel, over a socket the peer opened. */
  static over(socket: net.Socket, peer: string): Channel {
    return new Channel(peer).attach(socket);
  }

  /**
   * Connects to `host:port` as the receiving end of a channel: `onread` asks `readBuffer()` where
   * each read goes (the socket asks once as it is made, before any data) and reports it to `onRead()`.
   */
  static connectReceiving(host: string, port: number, peer: string): Promise<Channel> {
    const channel = new Channel(peer);
    return new Promise<Channel>((resolve, reject) => {
      const s = net.connect({ host, port, onread: { buffer: () => channel.readBuffer(), callback: (n: number) => channel.onRead(n) } });
      channel.attach(s);
      s.once("connect", () => resolve(channel));
      s.once("error", reject);
    });
  }

  private attach(socket: net.Socket): this {
    this.socket = socket;
    socket.setNoDelay(true);
    const fail = (why: string) => {
      this.failure ??= new Error(`the connection to ${this.peer} ${why} (did that rank fail or stop?)`);
      for (const w of this.waiting.splice(0)) w.reject(this.failure);
      // (a send still in the socket will not leave: whoever waits for it learns why now)
      for (const reject of this.unsent) reject(this.failure);
      this.unsent.clear();
    };
    socket.on("error", (e) => fail(`failed: ${e.message}`));
    socket.on("close", () => fail("closed"));
    return this;
  }

  /** Where the next read goes: the rest of the header, or the rest of the body. */
  private readBuffer(): Uint8Array {
    return this.body === null ? this.header.subarray(this.headerFilled) : this.body.subarray(this.bodyFilled);
  }

  /** `n` bytes were read into `readBuffer()`'s buffer. */
  private onRead(n: number): boolean {
    if (this.body === null) {
      this.headerFilled += n;
      if (this.headerFilled < 8) return true;
      const length = Number(this.header.readBigUInt64LE(0));
      // Straight into the receiver's buffer when one waits for this message (no second copy).
      const into = this.waiting[0]?.into;
      this.body = into && into.byteLength === length ? into : new Uint8Array(length);
      this.bodyFilled = 0;
    } else {
      this.bodyFilled += n;
    }
    if (this.bodyFilled === this.body.length) {
      const message = this.body;
      this.body = null;
      this.headerFilled = 0;
      const w = this.waiting.shift();
      if (w) w.resolve(message);
      else this.ready.push(message);
    }
    return true;
  }

  /**
   * Sends `bytes` as one message. The caller must not change them afterwards (the socket may still
   * hold them). Resolves once they left this process: a collective returns only after its sends
   * have, so a rank that exits right after its last one does not take its last message with it.
   */
  send(bytes: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.socket.write(encodeU64(bytes.byteLength));
    const flushed = new Promise<void>((resolve, reject) => {
      this.unsent.add(reject);
      this.socket.write(bytes, (e) => {
        this.unsent.delete(reject);
        if (e) reject(e);
        else resolve();
      });
    });
    // (awaited at the end of the collective; a failing receive before that is the error reported)
    flushed.catch(() => {});
    return flushed;
  }

  /**
   * The next message. `into`: a buffer of the message's length to receive it in (a message that
   * arrived before the call, or of another length, is copied there); the result is then `into`.
   */
  receive(into?: Uint8Array): Promise<Uint8Array> {
    const r = this.ready.shift();
    if (r) {
      if (!into || r.byteLength !== into.byteLength) return Promise.resolve(r);
      into.set(r);
      return Promise.resolve(into);
    }
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) =>
      this.waiting.push({
        resolve: (b) => {
          if (into && b !== into && b.byteLength === into.byteLength) into.set(b);
          resolve(into && b.byteLength === into.byteLength ? into : b);
        },
        reject,
        into,
      }),
    );
  }
}

/** `mine[i] = incoming[i] ∘ mine[i]`, one loop per operation (no call per element: megabytes go through here). */
function combineInto(mine: Float32Array, incoming: Float32Array, op: ReduceOp, arithmetic: FloatReduction | null): void {
  const n = mine.length;
  if ((op === "sum" || op === "mean") && arithmetic !== null) arithmetic.add(mine, incoming);
  else if (op === "max") for (let i = 0; i < n; i++) mine[i] = Math.max(incoming[i]!, mine[i]!);
  else if (op === "min") for (let i = 0; i < n; i++) mine[i] = Math.min(incoming[i]!, mine[i]!);
  else for (let i = 0; i < n; i++) mine[i] = incoming[i]! + mine[i]!;
}

/** Floats per pipelined segment of an all-reduce (1 MB): large enough that a message's own cost is small. */
const SEGMENT_FLOATS = 1 << 18;

/** A message's floats, in place (a message's buffer starts at a multiple of 4). */
function floats(b: Uint8Array): Float32Array {
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

export class RingCollectives {
  /** The adds and a mean's division in SIMD, where the runtime has it; its memory holds this ring's incoming segment. */
  private readonly arithmetic = FloatReduction.create(SEGMENT_FLOATS);

  private constructor(
    readonly rank: number,
    readonly worldSize: number,
    private readonly right: Channel | null,
    private readonly left: Channel | null,
    private readonly server: net.Server | null,
  ) {}

  /**
   * Joins the ring: listens on a free port of `host`, publishes it under `<prefix>/<rank>` in the
   * store, connects to the previous rank (the socket it receives from: only a socket this side
   * opens can read with `onread`) and accepts the next one (the socket it sends to).
   */
  static async connect(store: TCPStoreClient, rank: number, worldSize: number, host = "127.0.0.1", prefix = "ring"): Promise<RingCollectives> {
    if (worldSize === 1) return new RingCollectives(0, 1, null, null, null);
    const server = net.createServer();
    const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
    await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
    await store.set(`${prefix}/${rank}`, `${host}:${(server.address() as net.AddressInfo).port}`);
    const previous = (rank - 1 + worldSize) % worldSize;
    const [previousHost, previousPort] = (await store.get(`${prefix}/${previous}`)).toString().split(":");
    const left = await Channel.connectReceiving(previousHost!, Number(previousPort), `rank ${previous}`);
    const right = await accepted;
    return new RingCollectives(rank, worldSize, Channel.over(right, `rank ${(rank + 1) % worldSize}`), left, server);
  }

  /**
   * The element-wise reduction of every rank's `data` (same length everywhere), on every rank.
   * `inPlace`: reduce into `data` itself (the collectives thread owns the buffer it was handed).
   *
   * Pipelined by segments, as NCCL's ring is: a segment reduced in one step is sent on at once as
   * the next step's (the reduce-scatter's last step feeding the all-gather's first), and one
   * received in the all-gather is forwarded as soon as it lands, so the network and the adds
   * overlap instead of taking turns chunk by chunk. Each element is still reduced once per
   * step, in ring order, in float32: every rank ends with the same bits.
   */
  async allReduce(data: Float32Array, op: ReduceOp = "sum", inPlace = false): Promise<Float32Array> {
    const n = this.worldSize;
    const out = inPlace ? data : data.slice();
    const arithmetic = this.arithmetic;
    if (n > 1) {
      const bounds = (c: number): [number, number] => [Math.floor((c * out.length) / n), Math.floor(((c + 1) * out.length) / n)];
      // (the same chunk is cut the same way on every rank: sender and receiver agree on the messages)
      const segments = (c: number): Float32Array[] => {
        const chunk = out.subarray(...bounds(((c % n) + n) % n));
        const count = Math.max(1, Math.ceil(chunk.length / SEGMENT_FLOATS));
        return Array.from({ length: count }, (_, k) => chunk.subarray(k * SEGMENT_FLOATS, (k + 1) * SEGMENT_FLOATS));
      };
      const bytes = (f: Float32Array) => new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
      // Segments are sent as views of `out`, not copies. In the reduce-scatter a region is written
      // (reduced) before it is sent, never after; the all-gather writes only regions the
      // reduce-scatter sent, once those sends have left, and never writes what it sends.
      // Incoming reduce-scatter segments land in one scratch buffer, all-gather ones in place.
      const scratchBytes = 4 * Math.min(SEGMENT_FLOATS, Math.ceil(out.length / n) + 1);
      // (in the SIMD module's memory when there is one: a segment received there is added in place)
      const scratch = arithmetic?.incoming(scratchBytes) ?? new Uint8Array(scratchBytes);
      const reduceSent: Promise<void>[] = [];
      const gatherSent: Promise<void>[] = [];
      for (const segment of segments(this.rank)) reduceSent.push(this.right!.send(bytes(segment)));
      // reduce-scatter: after step s, chunk (rank − s − 1) holds the reduction of s + 2 ranks
      for (let s = 0; s < n - 1; s++) {
        for (const segment of segments(this.rank - s - 1)) {
          combineInto(segment, floats(await this.left!.receive(scratch.subarray(0, segment.byteLength))), op, arithmetic);
          // (after the last step it is finished: the all-gather's first send)
          (s < n - 2 ? reduceSent : gatherSent).push(this.right!.send(bytes(segment)));
        }
      }
      await Promise.all(reduceSent);
      // all-gather: the finished chunks come around the ring, each passed on as it arrives
      for (let s = 0; s < n - 1; s++) {
        for (const segment of segments(this.rank - s)) {
          await this.left!.receive(bytes(segment));
          if (s < n - 2) gatherSent.push(this.right!.send(bytes(segment)));
        }
      }
      await Promise.all(gatherSent);
    }
    if (op === "mean") {
      if (arithmetic !== null) arithmetic.divide(out, n);
      else for (let i = 0; i < out.length; i++) out[i] = out[i]! / n;
    }
    return out;
  }

  /** `src`'s bytes, on every rank (other ranks' `data` is ignored). */
  async broadcast(data: Uint8Array, src = 0): Promise<Uint8Array> {
    if (this.worldSize === 1) return data;
    if (this.rank === src) {
      await this.right!.send(data);
      return data;
    }
    const received = await this.left!.receive();
    if ((this.rank + 1) % this.worldSize !== src) await this.right!.send(received);
    return received;
  }

  /** Every rank's `data`, in rank order, on every rank. */
  async allGather(data: Float32Array): Promise<Float32Array[]> {
    const pieces: Float32Array[] = new Array(this.worldSize);
    pieces[this.rank] = data.slice();
    const sent: Promise<void>[] = [];
    for (let s = 0; s < this.worldSize - 1; s++) {
      const from = (this.rank - s + this.worldSize) % this.worldSize;
      const piece = pieces[from]!;
      sent.push(this.right!.send(new Uint8Array(piece.buffer, piece.byteOffset, piece.byteLength)));
      pieces[(this.rank - s - 1 + this.worldSize) % this.worldSize] = floats(await this.left!.receive());
    }
    await Promise.all(sent);
    return pieces;
  }

  /** Resolves once every rank has called it. */
  async barrier(): Promise<void> {
    await this.allReduce(new Float32Array([0]));
  }

  /** Leaves the ring; what was sent is still delivered (end, not destroy). */
  close(): void {
    this.right?.socket.end();
    this.left?.socket.end();
    this.server?.close();
  }
}
