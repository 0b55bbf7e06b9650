/**
 * Ring collectives between ranks in one process (each rank its own sockets, as separate
 * processes would have): all-reduce sum/mean/max/min against a float32 reference summed in the
 * ring's order, the same bits on every rank, sizes that do not divide by the world size;
 * broadcast, allGather, barrier; one rank alone.
 */
import { describe, expect, it } from "vitest";
import { TCPStoreServer, TCPStoreClient, RingCollectives } from "../../../../src/runtime/plugins/collectives/index";

async function ring(n: number, prefix: string) {
  const server = await TCPStoreServer.start(0, "127.0.0.1");
  const clients = await Promise.all(Array.from({ length: n }, () => TCPStoreClient.connect("127.0.0.1", server.port)));
  const ranks = await Promise.all(clients.map((c, r) => RingCollectives.connect(c, r, n, "127.0.0.1", prefix)));
  return {
    ranks,
    close: async () => {
      ranks.forEach((r) => r.close());
      clients.forEach((c) => c.close());
      await server.close();
    },
  };
}

const dataOf = (rank: number, len: number) => Float32Array.from({ length: len }, (_, i) => Math.sin(i * 1.3 + rank * 0.7) * 10 ** ((i % 5) - 2));

/** The ring's sum: chunk c is reduced starting at rank c, ((x_c + x_c+1) + x_c+2) ..., in float32. */
function ringOrderSum(inputs: Float32Array[]): Float32Array {
  const n = inputs.length;
  const len = inputs[0]!.length;
  const expected = new Float32Array(len);
  for (let c = 0; c < n; c++) {
    for (let i = Math.floor((c * len) / n); i < Math.floor(((c + 1) * len) / n); i++) {
      let acc = inputs[c]![i]!;
      for (let k = 1; k < n; k++) acc = Math.fround(inputs[(c + k) % n]![i]! + acc);
      expected[i] = acc;
    }
  }
  return expected;
}

describe("RingCollectives", () => {
  it("allReduce: the float32 sum in ring order, identical bits on every rank; mean, max, min", async () => {
    const n = 3;
    const len = 10; // chunks of 3, 3, 4
    const { ranks, close } = await ring(n, "t1");
    try {
      const inputs = ranks.map((_, r) => dataOf(r, len));
      const sums = await Promise.all(ranks.map((r, k) => r.allReduce(inputs[k]!, "sum")));
      const expected = ringOrderSum(inputs);
      for (const s of sums) expect(Array.from(s)).toEqual(Array.from(expected));
      const means = await Promise.all(ranks.map((r, k) => r.allReduce(inputs[k]!, "mean")));
      for (const m of means) expect(Array.from(m)).toEqual(Array.from(expected).map((v) => Math.fround(v / n)));
      const maxes = await Promise.all(ranks.map((r, k) => r.allReduce(inputs[k]!, "max")));
      const mins = await Promise.all(ranks.map((r, k) => r.allReduce(inputs[k]!, "min")));
      for (let i = 0; i < len; i++) {
        const column = inputs.map((x) => x[i]!);
        for (const m of maxes) expect(m[i]).toBe(Math.max(...column));
        for (const m of mins) expect(m[i]).toBe(Math.min(...column));
      }
      // the inputs are left as they were
      expect(Array.from(inputs[1]!)).toEqual(Array.from(dataOf(1, len)));
    } finally {
      await close();
    }
  });

  it("a buffer shorter than the world size, and a large one", async () => {
    const { ranks, close } = await ring(4, "t2");
    try {
      const tiny = await Promise.all(ranks.map((r, k) => r.allReduce(new Float32Array([k + 1]))));
      for (const t of tiny) expect(Array.from(t)).toEqual([10]);
      const big = await Promise.all(ranks.map((r) => r.allReduce(new Float32Array(100_003).fill(0.5))));
      for (const b of big) expect(b.every((v) => v === 2)).toBe(true);
    } finally {
      await close();
    }
  });

  it("chunks of several pipelined segments (1 MB each, the last one short): the ring-order sum, the same bits on every rank", async () => {
    const n = 3;
    const len = n * 600_001; // chunks of 600,001 floats: segments of 262,144, 262,144 and 75,713
    const { ranks, close } = await ring(n, "t4");
    try {
      const inputs = ranks.map((_, r) => dataOf(r, len));
      const sums = await Promise.all(ranks.map((r, k) => r.allReduce(inputs[k]!, "sum")));
      const expected = ringOrderSum(inputs);
      const bits = (f: Float32Array) => Buffer.from(f.buffer, f.byteOffset, f.byteLength);
      for (const s of sums) expect(bits(s).equals(bits(expected))).toBe(true);
      const maxes = await Promise.all(ranks.map((r, k) => r.allReduce(inputs[k]!, "max")));
      for (const m of maxes) for (const i of [0, 262_143, 262_144, 599_999, 600_001, len - 1]) expect(m[i]).toBe(Math.max(...inputs.map((x) => x[i]!)));
    } finally {
      await close();
    }
  });

  it("broadcast from any rank, allGather in rank order, barrier", async () => {
    const { ranks, close } = await ring(3, "t3");
    try {
      const got = await Promise.all(ranks.map((r) => r.broadcast(r.rank === 1 ? new Uint8Array([7, 8, 9]) : new Uint8Array(), 1)));
      for (const g of got) expect(Array.from(g)).toEqual([7, 8, 9]);
      const gathered = await Promise.all(ranks.map((r) => r.allGather(new Float32Array([r.rank, r.rank * 10]))));
      for (const g of gathered) expect(g.map((p) => Array.from(p))).toEqual([[0, 0], [1, 10], [2, 20]]);
      const order: number[] = [];
      await Promise.all(ranks.map(async (r) => {
        if (r.rank === 2) await new Promise((res) => setTimeout(res, 30));
        order.push(r.rank);
        await r.barrier();
        order.push(10 + r.rank);
      }));
      expect(order.slice(0, 3).sort()).toEqual([0, 1, 2]); // nobody passed the barrier before all arrived
    } finally {
      await close();
    }
  });

  it("one rank alone needs no sockets", async () => {
    const server = await TCPStoreServer.start(0, "127.0.0.1");
    const client = await TCPStoreClient.connect("127.0.0.1", server.port);
    const solo = await RingCollectives.connect(client, 0, 1);
    expect(Array.from(await solo.allReduce(new Float32Array([1.5, 2]), "mean"))).toEqual([1.5, 2]);
    expect(await solo.allGather(new Float32Array([3]))).toEqual([new Float32Array([3])]);
    solo.close();
    client.close();
    await server.close();
  });
});
