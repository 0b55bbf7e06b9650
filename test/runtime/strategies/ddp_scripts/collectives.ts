// Every collective of SyncCollectives on this rank (RANK, WORLD_SIZE, MASTER_PORT set by the
// test); writes what it got to OUT_DIR/<rank>.json.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { SyncCollectives } from "../../../../src/runtime/plugins/collectives/sync_collectives.ts";

const rank = Number(process.env.RANK);
const worldSize = Number(process.env.WORLD_SIZE);
const c = await SyncCollectives.start({ rank, worldSize, host: "127.0.0.1", port: Number(process.env.MASTER_PORT), serveStore: rank === 0 });
const mine = [rank + 1, -(rank + 1), 10 * rank];
const out = {
  sum: Array.from(c.allReduce(new Float32Array(mine), "sum")),
  mean: Array.from(c.allReduce(new Float32Array(mine), "mean")),
  max: Array.from(c.allReduce(new Float32Array(mine), "max")),
  min: Array.from(c.allReduce(new Float32Array(mine), "min")),
  one: Array.from(c.allReduce(new Float32Array([rank]), "sum")),
  broadcast: new TextDecoder().decode(c.broadcast(new TextEncoder().encode(`from rank ${rank}`), worldSize - 1)),
  gathered: c.allGather(new Float32Array([rank, rank * rank])).map((p) => Array.from(p)),
  // 1M floats (4 MB): element i is i % 1000 + rank; the sum is known in closed form.
  big: (() => {
    const n = 1 << 20;
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = (i % 1000) + rank;
    const r = c.allReduce(a, "sum");
    let bad = 0;
    for (let i = 0; i < n; i++) if (r[i] !== worldSize * (i % 1000) + (worldSize * (worldSize - 1)) / 2) bad++;
    return { n: r.length, bad };
  })(),
};
c.barrier();
writeFileSync(join(process.env.OUT_DIR!, `${rank}.json`), JSON.stringify(out));
c.close();
