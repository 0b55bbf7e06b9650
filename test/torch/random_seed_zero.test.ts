/**
 * Reproducibility of tfjs's random ops: an explicit seed, 0 included, always gives the same
 * draws, and with `manualSeed` nothing reaches `Math.random` (SPEC §2). tfjs itself treats seed 0
 * as "no seed"; `src/torch/tf_random_seeds.ts` resolves seeds before tfjs sees them.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tf } from "../../src/torch/tf";
import { nn, F, optim, manualSeed, randn, Generator } from "lightning-ts/torch";
import { seededOps, wrapped } from "../../src/torch/tf_random_seeds";
import { DEFAULT_GENERATOR_SEED } from "../../src/torch/random";
import { sourceConditionFlags } from "../../src/cli/source_condition";
import { libraryBundleEnv } from "../setup/library_bundle";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const script = path.join(here, "random_seed_zero/script.ts");

/** `node --import tsx script.ts` from the repository root: stdout, or the failure. */
function runScript(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...sourceConditionFlags(), "--import", "tsx", script], {
      cwd: repo,
      env: { ...process.env, ...libraryBundleEnv(), NODE_OPTIONS: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 50_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`script exited with ${code}: ${stderr}`));
    });
  });
}

const values = (t: tf.Tensor) => Array.from(t.dataSync());

afterEach(() => vi.restoreAllMocks());

describe("explicit seeds, 0 included", () => {
  it("a script using seed 0 prints the same trace in two processes, without touching Math.random", async () => {
    const [a, b] = await Promise.all([runScript(), runScript()]);
    expect(a).toBe(b);
    const trace = JSON.parse(a.trim().split("\n").pop()!);
    expect(trace.mathRandomCalls).toBe(0);
    expect(trace.losses).toHaveLength(5);
    for (const draws of Object.values(trace.seeded) as number[][]) expect(draws.every(Number.isFinite)).toBe(true);
  }, 60_000);

  it("the tf every module and script uses is the wrapped one", () => {
    const ns = tf as unknown as Record<string, unknown>;
    for (const name of seededOps) expect([name, wrapped(ns[name])]).toEqual([name, true]);
  });

  it("seed 0 gives the same draws call after call, as seed 1 does, and they differ from seed 1's", () => {
    const draws = (seed: number) => ({
      normal: values(tf.randomNormal([6], 0, 1, "float32", seed)),
      truncated: values(tf.truncatedNormal([6], 0, 1, "float32", seed)),
      uniform: values(tf.randomUniform([6], 0, 1, "float32", seed)),
      gamma: values(tf.randomGamma([6], 2, 1, "float32", seed)),
      multinomial: values(tf.multinomial(tf.tensor1d([0.25, 0.25, 0.25, 0.25]), 16, seed, true)),
      dropout: values(tf.dropout(tf.ones([16]), 0.5, undefined, seed)),
    });
    const spy = vi.spyOn(Math, "random");
    const zero = draws(0);
    manualSeed(5); // moves the ops stream: explicit seeds must not depend on it
    expect(draws(0)).toEqual(zero);
    expect(draws(1)).toEqual(draws(1));
    for (const [name, d] of Object.entries(draws(1))) expect([name, d]).not.toEqual([name, zero[name as keyof typeof zero]]);
    expect(spy).not.toHaveBeenCalled();
  });

  it("unseeded tfjs draws come from the ops stream: manualSeed reproduces them, and they differ call to call", () => {
    manualSeed(11);
    const a = [values(tf.randomNormal([5])), values(tf.randomUniform([5])), values(tf.dropout(tf.ones([8]), 0.5))];
    const again = values(tf.randomNormal([5]));
    manualSeed(11);
    const b = [values(tf.randomNormal([5])), values(tf.randomUniform([5])), values(tf.dropout(tf.ones([8]), 0.5))];
    expect(b).toEqual(a);
    expect(again).not.toEqual(a[0]);
  });
});

describe("with manualSeed, nothing reaches Math.random", () => {
  it("a seeded training step (init, dropout, BatchNorm, randn, unseeded tf random ops) never calls it", () => {
    const spy = vi.spyOn(Math, "random");
    manualSeed(0);
    const model = new nn.Sequential(
      new nn.Linear(6, 8),
      new nn.BatchNorm1d(8),
      new nn.ReLU(),
      new nn.Dropout(0.3),
      new nn.Linear(8, 3),
    );
    const opt = new optim.Adam(model.parameters(), { lr: 1e-2 });
    for (let step = 0; step < 3; step++) {
      const x = tf.add(randn([5, 6]), tf.truncatedNormal([5, 6], 0, 0.1));
      const target = tf.multinomial(tf.zeros([5, 3]) as tf.Tensor2D, 1).reshape([5]);
      opt.zeroGrad();
      const loss = F.crossEntropy(F.dropout(model.forward(x), { p: 0.1 }), target);
      loss.backward();
      opt.step();
    }
    expect(spy).not.toHaveBeenCalled();
  });

  it("new Generator() without a seed uses torch.Generator()'s default seed, not Math.random", () => {
    const spy = vi.spyOn(Math, "random");
    const g = new Generator();
    expect(g.seed()).toBe(DEFAULT_GENERATOR_SEED);
    expect(new Generator().randperm(20)).toEqual(new Generator(67280421310721).randperm(20));
    expect(spy).not.toHaveBeenCalled();
  });
});
