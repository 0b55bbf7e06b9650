import { manualSeed } from "../../torch/random.ts";

const MAX_SEED = 2 ** 32 - 1;

/**
 * Lightning's `seed_everything`: seeds every random stream of the torch layer (parameter init,
 * data order, random ops) and records the seed in `PL_GLOBAL_SEED`, where spawned processes
 * and distributed samplers read it. Without a seed, `PL_GLOBAL_SEED` is used, else 0 with a
 * warning, as in Lightning. A seed outside 0..2^32-1 is an error (Lightning warns and uses 0;
 * training on a seed other than the one asked for would be a silent change of the run).
 */
export function seedEverything(seed?: number): number {
  let s: number;
  if (seed === undefined || seed === null) {
    const env = process.env.PL_GLOBAL_SEED;
    if (env === undefined || env.trim() === "") {
      process.stderr.write("lightning-ts: no seed given and PL_GLOBAL_SEED is not set; seed set to 0\n");
      s = 0;
    } else {
      s = Number(env);
      if (!Number.isInteger(s)) throw new Error(`seedEverything(): PL_GLOBAL_SEED='${env}' is not an integer`);
    }
  } else {
    s = seed;
  }
  if (typeof s !== "number" || !Number.isInteger(s) || s < 0 || s > MAX_SEED) {
    throw new Error(`seedEverything(): seed ${String(s)} is not an integer in 0..${MAX_SEED}`);
  }
  process.env.PL_GLOBAL_SEED = String(s);
  manualSeed(s);
  return s;
}
