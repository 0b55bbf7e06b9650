/**
 * The bundled fixtures' migrated forms, trained under every 16-bit precision by changing the
 * flag only (Lite's `precision: "32-true"`, a `precision` option added to the Trainer's): each
 * run converges, and its loss trace moves off 32-true's by the rounding — not zero, less than a
 * few percent, and at the first step (the forward's rounding alone) bfloat16 (8 significant
 * bits) further than float16 (11). Over a whole run the order can flip: a step the loss
 * scaler skips (float16 gradients overflowing at the initial 2^16) moves a 16-mixed run too.
 *
 * mlp and cnn train with Adam; grad_clip with SGD + momentum and gradient clipping, the case
 * where the loss scale must be undone before the clip. Under the mixed precisions the two forms
 * stay equivalent (SPEC §6: the same losses to 1e-5): autocast covers the same ops in Lite's
 * wrapped forward and the Trainer's step. Under `*-true` they differ slightly: Lite's loss is
 * computed outside the model's forward, in float32 (see the README's Precision section). `16-true` runs on grad_clip only: Adam's
 * default eps (1e-8) rounds to 0 in float16, so a parameter whose gradient is exactly 0 (a
 * border pixel's weights) gets 0/0 (test/runtime/plugins/precision/half_precision.test.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { traceLosses } from "../../../../src/cli/verify";

const repo = resolve(__dirname, "../../../..");
// Inside the repository (`.tmp/` is ignored by git), so the copies resolve `lightning-ts` as the fixtures do.
mkdirSync(join(repo, ".tmp"), { recursive: true });
const work = mkdtempSync(join(repo, ".tmp", "precision-fixtures-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const STEPS = 40;
const CASES: Array<{ fixture: string; precisions: string[] }> = [
  { fixture: "mlp", precisions: ["16-mixed", "bf16-mixed", "bf16-true"] },
  { fixture: "cnn", precisions: ["16-mixed", "bf16-mixed", "bf16-true"] },
  { fixture: "grad_clip", precisions: ["16-mixed", "bf16-mixed", "16-true", "bf16-true"] },
];

function withPrecision(source: string, form: "lite" | "module", precision: string): string {
  const out =
    form === "lite"
      ? source.replace('precision: "32-true"', `precision: "${precision}"`)
      : source.replace("new Trainer({", `new Trainer({ precision: "${precision}", `);
  if (out === source && precision !== "32-true") throw new Error(`no precision flag to change in the ${form} form`);
  return out;
}

const traces = new Map<string, Promise<number[]>>();

/** The run's losses (each fixture × form × precision runs once; the equivalence test reuses them). */
function trace(fixture: string, form: "lite" | "module", precision: string): Promise<number[]> {
  const key = `${fixture}/${form}/${precision}`;
  if (!traces.has(key)) traces.set(key, runTrace(fixture, form, precision));
  return traces.get(key)!;
}

async function runTrace(fixture: string, form: "lite" | "module", precision: string): Promise<number[]> {
  const source = readFileSync(join(repo, "fixtures", fixture, `${form}.output.ts`), "utf8");
  const dir = mkdtempSync(join(work, `${fixture}-${form}-${precision}-`));
  const script = join(dir, "train.ts");
  writeFileSync(script, withPrecision(source, form, precision));
  const env: NodeJS.ProcessEnv = { ...process.env, LIGHTNING_TS_FASHION_MNIST_ROOT: join(repo, "fixtures", "data", "fashion-mnist") };
  const run = await traceLosses(script, { trace: join(dir, "loss.trace"), steps: STEPS, cwd: dir, env, timeoutMs: 180_000 });
  if (run.code !== 0 && run.failure) throw new Error(`${fixture}/${form} under ${precision}: ${run.failure}\n${run.stderrTail}`);
  return run.losses;
}

const relDiffs = (a: number[], b: number[]) => a.map((x, i) => Math.abs(x - b[i]!) / Math.abs(b[i]!));
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

describe("fixtures under 16-bit precision", () => {
  for (const { fixture, precisions } of CASES) {
    for (const form of ["lite", "module"] as const) {
      it(`${fixture} (${form}): ${precisions.join(", ")} converge, within a few percent of 32-true`, async () => {
        const full = await trace(fixture, form, "32-true");
        const diffs: Record<string, number> = {};
        const firstStep: Record<string, number> = {};
        for (const precision of precisions) {
          const losses = await trace(fixture, form, precision);
          expect(losses, precision).toHaveLength(full.length);
          expect(losses.every(Number.isFinite), `${precision}: finite losses`).toBe(true);
          const d = relDiffs(losses, full);
          diffs[precision] = mean(d);
          firstStep[precision] = d[0]!;
          expect(Math.max(...d), `${precision}: largest relative difference from 32-true`).toBeLessThan(0.05);
          expect(diffs[precision], `${precision}: the rounding changes the trace`).toBeGreaterThan(0);
          const k = Math.min(10, Math.floor(losses.length / 3));
          expect(mean(losses.slice(-k)), `${precision}: converges`).toBeLessThan(mean(losses.slice(0, k)));
        }
        console.log(`${fixture} (${form}) relative difference from 32-true, mean: ${JSON.stringify(diffs)}, first step: ${JSON.stringify(firstStep)}`);
        // The first loss is the forward's rounding alone (later ones carry the updates, and a
        // step the scaler skipped): bfloat16's 8 significant bits move it more than float16's 11.
        expect(firstStep["bf16-mixed"]!).toBeGreaterThan(firstStep["16-mixed"]!);
      }, 600_000);
    }
    it(`${fixture}: the lite and module forms trace the same losses under 16-mixed and bf16-mixed`, async () => {
      for (const precision of ["16-mixed", "bf16-mixed"]) {
        const lite = await trace(fixture, "lite", precision);
        const module = await trace(fixture, "module", precision);
        expect(lite).toHaveLength(module.length);
        for (let i = 0; i < lite.length; i++) expect(Math.abs(lite[i]! - module[i]!) / Math.abs(module[i]!), `${precision} step ${i}`).toBeLessThanOrEqual(1e-5);
      }
    }, 600_000);
  }
});
