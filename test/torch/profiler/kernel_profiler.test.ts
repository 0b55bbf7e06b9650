/**
 * The kernel profiler: it counts every kernel a step runs, separates a kernel's own time from
 * the kernels it runs inside (the WASM BatchMatMul shim's transposes), reports PyTorch's table,
 * and is reachable from a plain script (LIGHTNING_TS_PROFILE=kernel) and from the Trainer
 * (`profiler: "kernel"`).
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tf, nn, F, profiler } from "lightning-ts/torch";
import { Trainer } from "lightning-ts";
import { selectBackend } from "../../../src/torch/backends/select";
import { sourceConditionFlags } from "../../../src/cli/source_condition";
import { baseOptions, Classifier, usePureJsCpu } from "../../runtime/trainer/helpers";

const repo = resolve(__dirname, "../../..");

describe("kernel profiler", () => {
  it("counts each kernel's calls, nests a shim's inner kernels, and prints PyTorch's table", async () => {
    await selectBackend("wasm");
    const lin = new nn.Linear(8, 4);
    const x = tf.randomNormal([5, 8]);
    profiler.startKernelProfiler();
    for (let i = 0; i < 3; i++) lin.forward(x).sum().backward();
    const profile = profiler.stopKernelProfiler();
    const byName = new Map(profile.stats.map((s) => [s.name, s]));
    // three forwards x·Wᵀ and three weight gradients dyᵀ·x: transposed operands, so the shim's
    // Transpose runs inside each BatchMatMul
    expect(byName.get("BatchMatMul")!.calls).toBeGreaterThanOrEqual(6);
    expect(byName.get("Transpose")!.calls).toBeGreaterThanOrEqual(6);
    const mm = byName.get("BatchMatMul")!;
    expect(mm.selfMs).toBeLessThan(mm.totalMs);
    expect(profile.kernelMs).toBeLessThanOrEqual(profile.wallMs);
    expect(profile.stats.reduce((s, k) => s + k.selfMs, 0)).toBeCloseTo(profile.kernelMs, 6);
    const table = profiler.kernelProfileTable(profile);
    expect(table).toMatch(/Name\s+Self CPU %\s+Self CPU\s+CPU total %\s+CPU total\s+CPU time avg\s+# of Calls/);
    expect(table).toMatch(/BatchMatMul/);
    expect(table).toMatch(/outside kernels \(dispatch, tape, JS\): [\d.]+(us|ms|s) \([\d.]+%\)/);
    expect(profiler.isKernelProfilerRecording()).toBe(false);
  });

  it("LIGHTNING_TS_PROFILE=kernel profiles a plain script and prints the table on exit", () => {
    mkdirSync(join(repo, ".tmp"), { recursive: true });
    const dir = mkdtempSync(join(repo, ".tmp", "profile-"));
    const script = join(dir, "train.ts");
    writeFileSync(script, 'import { tf, nn } from "lightning-ts/torch";\nconst l = new nn.Linear(3, 2);\nl.forward(tf.ones([4, 3])).sum().backward();\n');
    const r = spawnSync(process.execPath, [...sourceConditionFlags(), "--import", "tsx", script], {
      cwd: repo,
      env: { ...process.env, LIGHTNING_TS_PROFILE: "kernel" },
      encoding: "utf8",
    });
    rmSync(dir, { recursive: true, force: true });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Kernel profile \(LIGHTNING_TS_PROFILE=kernel, backend wasm\)/);
    expect(r.stderr).toMatch(/BatchMatMul/);
  });

  it('the Trainer\'s profiler: "kernel" reports the stage per kernel', async () => {
    await usePureJsCpu();
    const out: string[] = [];
    const log = console.log;
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
    console.log = (...a: unknown[]) => out.push(a.join(" "));
    try {
      const trainer = new Trainer(baseOptions({ accelerator: "cpu", profiler: "kernel", logger: false, maxEpochs: 1, enableCheckpointing: false }));
      await trainer.fit(new Classifier({ n: 32 }));
    } finally {
      console.log = log;
      process.stdout.write = write;
    }
    const text = out.join("\n");
    expect(text).toMatch(/FIT Profiler Report \(kernels\)/);
    expect(text).toMatch(/# of Calls/);
    expect(text).toMatch(/BatchMatMul/);
    expect(profiler.isKernelProfilerRecording()).toBe(false);
  });
});
