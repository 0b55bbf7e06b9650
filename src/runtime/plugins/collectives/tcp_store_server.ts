/**
 * A TCPStore server (what PyTorch's rank 0 or torchrun's agent hosts): a key-value map that
 * ranks set, add to, compare-and-set, and wait on, speaking PyTorch's wire protocol
 * (tcp_store_protocol.ts), so PyTorch clients can use it as they use theirs. Values are bytes;
 * `add` keeps its counter as the decimal string PyTorch keeps.
 */
import net from "node:net";
import { CheckResponse, QueryType, StreamReader, WaitResponse, encodeBytes, encodeI64, encodeU8 } from "./tcp_store_protocol.ts";

interface Waiter {
  keys: string[];
  socket: net.Socket;
}

export class TCPStoreServer {
  private readonly store = new Map<string, Buffer>();
  private waiters: Waiter[] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server) {}

  /** Listens on `port` (0: a free one) of `host`. */
  static start(port = 0, host = "0.0.0.0"): Promise<TCPStoreServer> {
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      const store = new TCPStoreServer(server);
      server.on("connection", (socket) => store.serve(socket));
      server.once("error", (e: NodeJS.ErrnoException) =>
        reject(new Error(`TCPStore server: cannot listen on ${host}:${port} (${e.code ?? e.message}); set MASTER_PORT to a free port`)),
      );
      server.listen(port, host, () => resolve(store));
    });
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const reader = new StreamReader();
    socket.on("data", (chunk: Buffer) => {
      reader.push(chunk);
      while (this.handle(reader, socket)) {
        // every complete request in the buffer
      }
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      this.sockets.delete(socket);
      this.waiters = this.waiters.filter((w) => w.socket !== socket);
    });
  }

  /** Handles one request if the buffer holds all of it; false when it does not (yet). */
  private handle(r: StreamReader, socket: net.Socket): boolean {
    const mark = r.mark();
    const incomplete = () => {
      r.rollback(mark);
      return false;
    };
    const type = r.u8();
    if (type === null) return false;
    switch (type) {
      case QueryType.SET: {
        const key = r.string();
        const value = key === null ? null : r.bytes();
        if (key === null || value === null) return incomplete();
        this.store.set(key, value);
        this.wake();
        return true;
      }
      case QueryType.COMPARE_SET: {
        const key = r.string();
        const expected = key === null ? null : r.bytes();
        const desired = expected === null ? null : r.bytes();
        if (key === null || expected === null || desired === null) return incomplete();
        const current = this.store.get(key);
        if ((current === undefined && expected.length === 0) || (current !== undefined && current.equals(expected))) {
          this.store.set(key, desired);
          socket.write(encodeBytes(desired));
          this.wake();
        } else {
          socket.write(encodeBytes(current ?? expected));
        }
        return true;
      }
      case QueryType.GET: {
        const key = r.string();
        if (key === null) return incomplete();
        socket.write(encodeBytes(this.store.get(key) ?? Buffer.alloc(0)));
        return true;
      }
      case QueryType.ADD: {
        const key = r.string();
        const delta = key === null ? null : r.i64();
        if (key === null || delta === null) return incomplete();
        const value = BigInt(this.store.get(key)?.toString("utf8") ?? "0") + delta;
        this.store.set(key, Buffer.from(value.toString(), "utf8"));
        socket.write(encodeI64(value));
        this.wake();
        return true;
      }
      case QueryType.CHECK:
      case QueryType.WAIT: {
        const keys = readKeys(r);
        if (keys === null) return incomplete();
        const ready = keys.every((k) => this.store.has(k));
        if (type === QueryType.CHECK) socket.write(encodeU8(ready ? CheckResponse.READY : CheckResponse.NOT_READY));
        else if (ready) socket.write(encodeU8(WaitResponse.STOP_WAITING));
        else this.waiters.push({ keys, socket });
        return true;
      }
      case QueryType.GETNUMKEYS:
        socket.write(encodeI64(this.store.size));
        return true;
      case QueryType.DELETE_KEY: {
        const key = r.string();
        if (key === null) return incomplete();
        socket.write(encodeI64(this.store.delete(key) ? 1 : 0));
        return true;
      }
      case QueryType.WATCH_KEY: {
        // (PyTorch's watchKey callbacks: not used by rendezvous; the key is read and ignored)
        const key = r.string();
        if (key === null) return incomplete();
        return true;
      }
      default:
        socket.destroy(new Error(`TCPStore server: unknown query type ${type}`));
        return false;
    }
  }

  /** Answers the WAITs whose keys are all there now. */
  private wake(): void {
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.keys.every((k) => this.store.has(k))) w.socket.write(encodeU8(WaitResponse.STOP_WAITING));
      else still.push(w);
    }
    this.waiters = still;
  }
}

function readKeys(r: StreamReader): string[] | null {
  const n = r.u64();
  if (n === null) return null;
  const keys: string[] = [];
  for (let i = 0n; i < n; i++) {
    const k = r.string();
    if (k === null) return null;
    keys.push(k);
  }
  return keys;
}
