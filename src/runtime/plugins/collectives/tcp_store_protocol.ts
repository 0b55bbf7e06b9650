/**
 * PyTorch's TCPStore wire protocol (torch/csrc/distributed/c10d/TCPStore.cpp, PyTorch 1.13 — the
 * version Debian ships and the tests run against): one byte of query type, then its arguments;
 * strings and byte vectors as a little-endian uint64 length and the bytes, counts as uint64,
 * numbers as int64. A client prefixes user keys with "/" (its `keyPrefix_`), so a Node rank and a
 * PyTorch process that share a store see each other's keys.
 */
export const QueryType = {
  SET: 0,
  COMPARE_SET: 1,
  GET: 2,
  ADD: 3,
  CHECK: 4,
  WAIT: 5,
  GETNUMKEYS: 6,
  WATCH_KEY: 7,
  DELETE_KEY: 8,
} as const;

export const CheckResponse = { READY: 0, NOT_READY: 1 } as const;
export const WaitResponse = { STOP_WAITING: 0 } as const;

/** The prefix a TCPStore client puts before user keys. */
export const KEY_PREFIX = "/";

export function encodeU8(v: number): Buffer {
  return Buffer.from([v]);
}

export function encodeU64(v: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}

export function encodeI64(v: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(v));
  return b;
}

export function encodeBytes(v: Uint8Array | string): Buffer {
  const bytes = typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v);
  return Buffer.concat([encodeU64(bytes.length), bytes]);
}

/**
 * Reads values off a byte stream as they arrive: each `read*` returns the value, or null while
 * not enough bytes are there yet (nothing is consumed then). `commit()` drops what was read.
 */
export class StreamReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;

  push(chunk: Buffer): void {
    this.buf = this.buf.length === this.pos ? chunk : Buffer.concat([this.buf.subarray(this.pos), chunk]);
    this.pos = 0;
  }

  /** Starts a message: reads from here; `rollback()` returns to this point. */
  mark(): number {
    return this.pos;
  }

  rollback(mark: number): void {
    this.pos = mark;
  }

  u8(): number | null {
    if (this.pos + 1 > this.buf.length) return null;
    return this.buf[this.pos++]!;
  }

  u64(): bigint | null {
    if (this.pos + 8 > this.buf.length) return null;
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  i64(): bigint | null {
    if (this.pos + 8 > this.buf.length) return null;
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  bytes(): Buffer | null {
    const at = this.pos;
    const n = this.u64();
    if (n === null || this.pos + Number(n) > this.buf.length) {
      this.pos = at;
      return null;
    }
    const v = Buffer.from(this.buf.subarray(this.pos, this.pos + Number(n)));
    this.pos += Number(n);
    return v;
  }

  string(): string | null {
    const b = this.bytes();
    return b === null ? null : b.toString("utf8");
  }
}
