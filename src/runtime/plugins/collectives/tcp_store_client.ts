/**
 * A TCPStore client (what every rank uses for rendezvous), speaking PyTorch's wire protocol to a
 * server of ours or of PyTorch's (rank 0's, or torchrun's agent store). Keys are prefixed with "/"
 * as PyTorch's client does; `get` waits for its key as PyTorch's does. Connecting retries until
 * `timeoutMs`; its error names the address and the variable that set it.
 */
import net from "node:net";
import { KEY_PREFIX, QueryType, StreamReader, encodeBytes, encodeI64, encodeU64, encodeU8 } from "./tcp_store_protocol.ts";

export interface TCPStoreClientOptions {
  /** How long to keep trying to connect, and to wait for keys (default 30 s). */
  timeoutMs?: number;
  /** Where the address came from, for error messages (default "MASTER_ADDR:MASTER_PORT"). */
  source?: string;
}

type Pending = { read: (r: StreamReader) => unknown | null; resolve: (v: unknown) => void; reject: (e: Error) => void };

export class TCPStoreClient {
  private readonly reader = new StreamReader();
  private readonly pending: Pending[] = [];
  private closed = false;

  private constructor(
    private readonly socket: net.Socket,
    readonly timeoutMs: number,
  ) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      this.reader.push(chunk);
      while (this.pending.length > 0) {
        const mark = this.reader.mark();
        const value = this.pending[0]!.read(this.reader);
        if (value === null) {
          this.reader.rollback(mark);
          break;
        }
        this.pending.shift()!.resolve(value);
      }
    });
    const fail = (e: Error) => {
      for (const p of this.pending.splice(0)) p.reject(e);
    };
    socket.on("error", fail);
    socket.on("close", () => {
      if (!this.closed) fail(new Error("TCPStore: the server closed the connection"));
    });
  }

  static async connect(host: string, port: number, options: TCPStoreClientOptions = {}): Promise<TCPStoreClient> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    let last = "";
    for (let delay = 10; ; delay = Math.min(delay * 2, 1000)) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect({ host, port }, () => {
            s.off("error", reject);
            resolve(s);
          });
          s.once("error", reject);
        });
        return new TCPStoreClient(socket, timeoutMs);
      } catch (e) {
        last = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      }
      if (Date.now() + delay > deadline) {
        throw new Error(
          `TCPStore: could not connect to ${host}:${port} (${options.source ?? "MASTER_ADDR:MASTER_PORT"}) within ${timeoutMs / 1000} s: ${last}`,
        );
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  private request<T>(message: Buffer, read: ((r: StreamReader) => T | null) | null, what: string): Promise<T> {
    this.socket.write(message);
    if (read === null) return Promise.resolve(undefined as T);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`TCPStore: ${what} timed out after ${this.timeoutMs / 1000} s`)), this.timeoutMs);
      this.pending.push({
        read,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  set(key: string, value: string | Uint8Array): Promise<void> {
    return this.request(Buffer.concat([encodeU8(QueryType.SET), encodeBytes(KEY_PREFIX + key), encodeBytes(value)]), null, `set(${key})`);
  }

  /** The value of `key`, once some rank has set it. */
  async get(key: string): Promise<Buffer> {
    await this.wait([key]);
    return this.request(Buffer.concat([encodeU8(QueryType.GET), encodeBytes(KEY_PREFIX + key)]), (r) => r.bytes(), `get(${key})`);
  }

  /** Adds `amount` to the counter `key` (created at 0) and returns the new value. */
  async add(key: string, amount: number): Promise<number> {
    const v = await this.request(Buffer.concat([encodeU8(QueryType.ADD), encodeBytes(KEY_PREFIX + key), encodeI64(amount)]), (r) => r.i64(), `add(${key})`);
    return Number(v);
  }

  /** Sets `key` to `desired` if it holds `expected` (or is absent and `expected` is empty); returns the value it holds after. */
  compareSet(key: string, expected: string | Uint8Array, desired: string | Uint8Array): Promise<Buffer> {
    return this.request(
      Buffer.concat([encodeU8(QueryType.COMPARE_SET), encodeBytes(KEY_PREFIX + key), encodeBytes(expected), encodeBytes(desired)]),
      (r) => r.bytes(),
      `compareSet(${key})`,
    );
  }

  /** Whether every key is set, without waiting. */
  async check(keys: string[]): Promise<boolean> {
    const v = await this.request(Buffer.concat([encodeU8(QueryType.CHECK), encodeKeys(keys)]), (r) => r.u8(), "check");
    return v === 0;
  }

  /** Resolves once every key is set. */
  async wait(keys: string[]): Promise<void> {
    await this.request(Buffer.concat([encodeU8(QueryType.WAIT), encodeKeys(keys)]), (r) => r.u8(), `wait(${keys.join(", ")})`);
  }

  async numKeys(): Promise<number> {
    return Number(await this.request(encodeU8(QueryType.GETNUMKEYS), (r) => r.i64(), "numKeys"));
  }

  async deleteKey(key: string): Promise<boolean> {
    return (await this.request(Buffer.concat([encodeU8(QueryType.DELETE_KEY), encodeBytes(KEY_PREFIX + key)]), (r) => r.i64(), `deleteKey(${key})`)) === 1n;
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

function encodeKeys(keys: string[]): Buffer {
  return Buffer.concat([encodeU64(keys.length), ...keys.map((k) => encodeBytes(KEY_PREFIX + k))]);
}
