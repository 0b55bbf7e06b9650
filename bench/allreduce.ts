/**
 * All-reduce bandwidth of the DDP collectives on loopback, against a raw socket copy of the same
 * bytes. For each world size (2, 4) and buffer size (4 KB to 64 MB) the ranks — processes started
 * by this script — time the median `allReduce(sum)` of a float32 buffer through the synchronous
 * API Lite and the Trainer use, the buffer handed over as DDP hands over its gradient bucket; the bus bandwidth is size × 2(n−1)/n per second (the bytes each
 * rank sends, as NCCL's tests count them). The raw baseline sends that many bytes over one
 * loopback TCP connection to another process and times their delivery (the receiver acknowledges
 * each message).
 *
 *   npx tsx bench/allreduce.ts [--sizes 4096,65536,1048576,16777216,67108864] [--worlds 2,4] [--rounds 5]
 */
import { spawn } from "node:child_process";
import net from "node:net";
import { parseArgs } from "node:util";
import { SyncCollectives } from "../src/runtime/plugins/collectives/sync_collectives.ts";
import { freePort } from "../src/runtime/strategies/launchers/subprocess_script.ts";
import { median } from "./stats.ts";

const role = process.env.ALLREDUCE_BENCH_ROLE;

function repsFor(bytes: number): number {
  return bytes <= 1 << 20 ? 30 : bytes <= 16 << 20 ? 8 : 3;
}

if (role === "rank") {
  const rank = Number(process.env.RANK);
  const worldSize = Number(process.env.WORLD_SIZE);
  const c = await SyncCollectives.start({ rank, worldSize, host: "127.0.0.1", port: Number(process.env.MASTER_PORT), serveStore: rank === 0, timeoutMs: 120_000 });
  const results: Record<string, number> = {};
  for (const bytes of process.env.SIZES!.split(",").map(Number)) {
    const data = new Float32Array(bytes / 4).fill(rank + 1);
    c.allReduce(data, "sum"); // warm-up
    const times: number[] = [];
    for (let i = 0; i < repsFor(bytes); i++) {
      // (handed over, as DDP hands over its gradient bucket: built before the clock starts)
      const bucket = data.slice();
      c.barrier();
      const t = performance.now();
      c.allReduce(bucket, "sum", true);
      times.push(performance.now() - t);
    }
    results[bytes] = median(times);
  }
  if (rank === 0) console.log(`RESULTS ${JSON.stringify(results)}`);
  c.close();
} else if (role === "sink") {
  // The raw baseline's receiving side: reads everything, then says how long the last byte took.
  const server = net.createServer((socket) => {
    let got = 0;
    const bytes = Number(process.env.BYTES);
    socket.on("data", (chunk: Buffer) => {
      got += chunk.length;
      // One byte back per whole message received: the sender times delivery, not its own write.
      while (got >= bytes) {
        got -= bytes;
        socket.write("k");
      }
    });
  });
  server.listen(0, "127.0.0.1", () => console.log(`PORT ${(server.address() as net.AddressInfo).port}`));
} else {
  const { values } = parseArgs({ options: { sizes: { type: "string", default: "4096,65536,1048576,16777216,67108864" }, worlds: { type: "string", default: "2,4" }, rounds: { type: "string", default: "5" } } });
  const sizes = values.sizes.split(",").map(Number);

  /** Median ms to push `bytes` through one loopback connection to another process. */
  const raw = async (bytes: number): Promise<number> => {
    const reps = repsFor(bytes);
    const sink = spawn(process.execPath, [...process.execArgv, process.argv[1]!], { env: { ...process.env, ALLREDUCE_BENCH_ROLE: "sink", BYTES: String(bytes), REPS: String(reps) } });
    const port = await new Promise<number>((resolve) => sink.stdout.on("data", (d: Buffer) => { const m = /PORT (\d+)/.exec(d.toString()); if (m) resolve(Number(m[1])); }));
    const socket = net.connect(port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    const buf = Buffer.alloc(bytes, 1);
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t = performance.now();
      const acked = new Promise((r) => socket.once("data", r));
      socket.write(buf);
      await acked;
      times.push(performance.now() - t);
    }
    socket.destroy();
    sink.kill();
    return median(times);
  };

  const rows: string[] = [];
  const rounds = Number(values.rounds);
  for (const n of values.worlds.split(",").map(Number)) {
    const measured = new Map<number, Array<{ ms: number; rawMs: number }>>(sizes.map((b) => [b, []]));
    // Rounds alternate the ranks' run and the raw copies: this shared machine's speed drifts by 2x
    // within minutes, and a ratio is only worth what its two sides have in common.
    for (let round = 0; round < rounds; round++) {
      const port = await freePort();
      const ranks = Array.from({ length: n }, (_, r) =>
        new Promise<string>((resolve) => {
          const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!], {
            env: { ...process.env, ALLREDUCE_BENCH_ROLE: "rank", RANK: String(r), WORLD_SIZE: String(n), MASTER_PORT: String(port), SIZES: sizes.join(",") },
          });
          let out = "";
          child.stdout.on("data", (d: Buffer) => (out += d.toString()));
          child.stderr.on("data", (d: Buffer) => process.stderr.write(d));
          child.on("close", () => resolve(out));
        }),
      );
      const outputs = await Promise.all(ranks);
      const results = JSON.parse(/RESULTS (.*)/.exec(outputs.join("\n"))![1]!) as Record<string, number>;
      for (const bytes of sizes) measured.get(bytes)!.push({ ms: results[bytes]!, rawMs: await raw((bytes * 2 * (n - 1)) / n) });
    }
    for (const bytes of sizes) {
      const busBytes = (bytes * 2 * (n - 1)) / n;
      const runs = measured.get(bytes)!;
      const ms = median(runs.map((r) => r.ms));
      const rawMs = median(runs.map((r) => r.rawMs));
      const ratios = runs.map((r) => r.rawMs / r.ms);
      const bw = busBytes / (ms / 1000) / 1e6;
      const rawBw = busBytes / (rawMs / 1000) / 1e6;
      rows.push(
        `${n} ranks ${String(bytes).padStart(9)} B  all-reduce ${ms.toFixed(3).padStart(8)} ms  bus ${bw.toFixed(0).padStart(5)} MB/s   raw socket ${rawBw.toFixed(0).padStart(5)} MB/s   ` +
          `ratio ${median(ratios).toFixed(2)} [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}]`,
      );
    }
  }
  console.log(`all-reduce (sum) bus bandwidth against a raw loopback copy of the same bytes; medians of ${rounds} alternating rounds, the ratio's range:`);
  console.log(rows.join("\n"));
}
