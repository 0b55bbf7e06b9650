// src/cli/verify.ts: running two scripts and comparing their loss traces, with stand-in
// scripts that write the trace the way the torch layer does (one number per line).
import { afterAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { relativeDifference, verifyMigration } from "../../src/cli/verify";
import { remove, tempTree } from "./helpers";

/** A script that appends `count` losses (or forever) to LIGHTNING_TS_LOSS_TRACE. */
function lossScript(losses: string, opts: { forever?: boolean; failAfter?: number } = {}): string {
  return `import { appendFileSync } from "node:fs";
const trace = process.env.LIGHTNING_TS_LOSS_TRACE!;
const losses: number[] = ${losses};
let i = 0;
${opts.forever ? "setInterval(() => appendFileSync(trace, `${losses[i++ % losses.length]}\\n`), 5);" : `for (const l of losses) {
  ${opts.failAfter !== undefined ? `if (i++ === ${opts.failAfter}) throw new Error("boom");` : ""}
  appendFileSync(trace, \`\${l}\\n\`);
}`}
`;
}

const root = tempTree({
  "a.ts": lossScript("[2.5, 2.25, 2.0, 1.75]"),
  "close.ts": lossScript("[2.5, 2.25, 2.000001, 1.75]"),
  "off.ts": lossScript("[2.5, 2.25, 2.1, 1.75]"),
  "short.ts": lossScript("[2.5, 2.25]"),
  "crash.ts": lossScript("[2.5, 2.25, 2.0, 1.75]", { failAfter: 1 }),
  "forever.ts": lossScript("[1, 2, 3]", { forever: true }),
  "silent.ts": "export {};\n",
});
afterAll(() => remove(root));
const v = (a: string, b: string, steps = 10) => verifyMigration(join(root, a), join(root, b), steps, root, process.env);

describe("verifyMigration", () => {
  it("relative difference", () => {
    expect(relativeDifference(2, 2)).toBe(0);
    expect(relativeDifference(0, 0)).toBe(0);
    expect(relativeDifference(2, 2.2)).toBeCloseTo(0.0909, 4);
  });

  it("equal traces pass; tiny differences pass; 1e-5 relative is the limit", async () => {
    const close = await v("a.ts", "close.ts");
    expect(close.ok).toBe(true);
    expect(close.maxRelativeDifference).toBeCloseTo(5e-7, 8);
    expect(await v("a.ts", "off.ts")).toMatchObject({
      ok: false,
      worstStep: 2,
      reason: "loss differs by 4.76e-2 (relative) at step 2: 2 vs 2.1",
    });
  });

  it("compares against a known multiple of the original's losses when told to", async () => {
    const scaled = await verifyMigration(join(root, "a.ts"), join(root, "a.ts"), 10, root, process.env, 2);
    expect(scaled).toMatchObject({ ok: false, traceScale: 2 });
    expect((await v("a.ts", "a.ts")).traceScale).toBe(1);
  });

  it("compares only the first N steps", async () => {
    expect(await v("a.ts", "off.ts", 2)).toMatchObject({ ok: true, compared: 2 });
  });

  it("stops scripts that keep going once N losses are in", async () => {
    const started = Date.now();
    expect(await v("forever.ts", "forever.ts", 6)).toMatchObject({ ok: true, compared: 6, maxRelativeDifference: 0 });
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("fails on different lengths, a crash, or no losses at all", async () => {
    expect(await v("a.ts", "short.ts")).toMatchObject({ ok: false, reason: "the scripts logged 4 and 2 losses" });
    const crash = await v("a.ts", "crash.ts");
    expect(crash.ok).toBe(false);
    expect(crash.reason).toMatch(/^the migrated script failed: exit 1:\n[\s\S]*Error: boom$/);
    expect(await v("silent.ts", "a.ts")).toMatchObject({ ok: false, reason: "the original script logged no loss (no backward pass ran)" });
  });
});
