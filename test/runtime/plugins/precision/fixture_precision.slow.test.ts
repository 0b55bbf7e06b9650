/**
 * The bundled fixtures' migrated forms, trained under every 16-bit precision by changing the
 * flag only (Lite's `precision: "32-true"`, a `precision` option added to the Trainer's): each
 * run converges, and its loss trace moves off 32-true's by the rounding — not zero, less than a
 * few percent, bfloat16 (8 significant bits) further than float16 (11).
 *
 * mlp and cnn train with Adam; grad_clip with SGD + momentum and gradient clipping, the case
 * where the loss scale must be undone before the clip. `16-true` runs on grad_clip only: Adam's
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

async function trace(fixture: string, form: "lite" | "module", precision: string): Promise<number[]> {
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
        for (const precision of precisions) {
          const losses = await trace(fixture, form, precision);
          expect(losses, precision).toHaveLength(full.length);
          expect(losses.every(Number.isFinite), `${precision}: finite losses`).toBe(true);
          const d = relDiffs(losses, full);
          diffs[precision] = mean(d);
          expect(Math.max(...d), `${precision}: largest relative difference from 32-true`).toBeLessThan(0.05);
          expect(diffs[precision], `${precision}: the rounding changes the trace`).toBeGreaterThan(0);
          const k = Math.min(10, Math.floor(losses.length / 3));
          expect(mean(losses.slice(-k)), `${precision}: converges`).toBeLessThan(mean(losses.slice(0, k)));
        }
        console.log(`${fixture} (${form}) mean relative difference from 32-true: ${JSON.stringify(diffs)}`);
        expect(diffs["bf16-mixed"]!).toBeGreaterThan(diffs["16-mixed"]!);
      }, 600_000);
    }
  }
});
