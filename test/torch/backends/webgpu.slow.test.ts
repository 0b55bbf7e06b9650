// WebGPU, verified (issue 13): every layer's forward and gradients match WASM's; every fixture — the plain script, and its lite and module
// migrations — runs on tfjs's WebGPU backend through Dawn and traces the losses the same script
// traces on WASM within 1e-4 relative over its first 20 steps. In CI that is Mesa's llvmpipe (.ci/run
// installs it; a software adapter is allowed by LIGHTNING_TS_WEBGPU_ALLOW_SOFTWARE=1): correct,
// not fast. Without any adapter the tests say so and are skipped — except under CI=true, where
// that fails.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { relativeDifference, traceLosses, tsxLoaderUrl, type TraceRun } from "../../../src/cli/verify";
import { probeWebGPUAdapter } from "../../../src/runtime/accelerators/webgpu_adapter";
import { FIXTURES, TARGETS, fixtureNames } from "../../fixtures/corpus";
// (LIGHTNING_TS_FIXTURE_JOBS processes at a time, 2 by default: this machine's cores)
import { withSlot } from "../../fixtures/fixture_runs";

const BACKEND_READY = pathToFileURL(resolve(import.meta.dirname, "../../../src/torch/backends/ready_at_start.ts")).href;
const STEPS = 20;
const TOLERANCE = 1e-4;
const adapter = probeWebGPUAdapter();
const tmp = mkdtempSync(join(tmpdir(), "lightning-ts-webgpu-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it("a WebGPU adapter is there (CI installs Mesa's Vulkan driver; elsewhere its absence only skips)", () => {
  if (!adapter.found && process.env.CI !== "true") {
    console.warn(`WebGPU tests skipped: ${adapter.reason}`);
    return;
  }
  expect(adapter.found, adapter.reason).toBe(true);
});

function run(name: string, file: string, backend: "wasm" | "webgpu"): Promise<TraceRun> {
  const scratch = mkdtempSync(join(tmp, `${name}-${backend}-`));
  return withSlot(() =>
    traceLosses(join(FIXTURES.dir, name, file), {
      trace: join(scratch, "loss.trace"),
      steps: STEPS,
      cwd: scratch,
      timeoutMs: 300_000,
      // (the plain script's backend is started before it runs; Lite and the Trainer wait for theirs)
      // (`--import lightning-ts/backend-ready` as a user writes it, by path: the runs' cwd is a scratch folder)
      nodeArgs: backend === "webgpu" ? ["--import", BACKEND_READY] : [],
      env: {
        ...process.env,
        LIGHTNING_TS_BACKEND: backend,
        LIGHTNING_TS_WEBGPU_ALLOW_SOFTWARE: backend === "webgpu" ? "1" : "0",
        LIGHTNING_TS_REPORT_BACKEND: "1",
        LIGHTNING_TS_FASHION_MNIST_ROOT: join(FIXTURES.dir, "data", "fashion-mnist"),
      },
    }),
  );
}

/** The layers script's JSON (webgpu_scripts/layers.ts) on one backend. */
function layersOn(backend: "wasm" | "webgpu"): Record<string, Record<string, number[]>> {
  const r = spawnSync(
    process.execPath,
    ["--conditions=lightning-ts:source", "--import", tsxLoaderUrl(), ...(backend === "webgpu" ? ["--import", BACKEND_READY] : []), join(import.meta.dirname, "webgpu_scripts", "layers.ts")],
    { encoding: "utf8", env: { ...process.env, LIGHTNING_TS_BACKEND: backend, LIGHTNING_TS_WEBGPU_ALLOW_SOFTWARE: "1" }, timeout: 300_000 },
  );
  const line = r.stdout.split("\n").find((l) => l.startsWith(`LAYERS ${backend} `));
  if (!line) throw new Error(`the layers script failed on ${backend}:\n${r.stderr.slice(-3000)}`);
  return JSON.parse(line.slice(`LAYERS ${backend} `.length)) as Record<string, Record<string, number[]>>;
}

describe.skipIf(!adapter.found)("every layer on WebGPU: forward and gradients as on WASM", () => {
  it("outputs and the gradients of input and parameters, within 1e-4 of the largest value, for every case", () => {
    const cpu = layersOn("wasm");
    const gpu = layersOn("webgpu");
    const differences: string[] = [];
    let arrays = 0;
    for (const [name, entries] of Object.entries(cpu)) {
      for (const [what, values] of Object.entries(entries)) {
        arrays++;
        const other = gpu[name]?.[what];
        if (!other || other.length !== values.length) {
          differences.push(`${name} ${what}: missing on WebGPU`);
          continue;
        }
        const scale = Math.max(1e-6, ...values.map(Math.abs));
        const worst = Math.max(0, ...values.map((v, i) => Math.abs(v - other[i]!))) / scale;
        if (!(worst <= TOLERANCE)) differences.push(`${name} ${what}: ${worst.toExponential(2)}`);
      }
    }
    expect(differences).toEqual([]);
    expect(arrays).toBeGreaterThan(90);
  }, 600_000);
});

describe.skipIf(!adapter.found)("every fixture on WebGPU traces its WASM losses (20 steps, 1e-4 relative)", () => {
  for (const name of fixtureNames(FIXTURES)) {
    for (const { file } of [{ file: "input.ts" }, ...TARGETS]) {
      if (!existsSync(join(FIXTURES.dir, name, file))) continue;
      it.concurrent(`${name}/${file}`, async () => {
        const [cpu, gpu] = await Promise.all([run(name, file, "wasm"), run(name, file, "webgpu")]);
        expect(cpu.failure, cpu.stderrTail).toBeNull();
        expect(gpu.failure, gpu.stderrTail).toBeNull();
        expect(cpu.stderrTail).toContain("lightning-ts: ran on the wasm backend");
        expect(gpu.stderrTail, "the run did not end on WebGPU").toContain("lightning-ts: ran on the webgpu backend");
        expect(cpu.losses.length).toBeGreaterThan(0);
        expect(gpu.losses).toHaveLength(cpu.losses.length);
        const worst = Math.max(...cpu.losses.map((l, i) => relativeDifference(l, gpu.losses[i]!)));
        expect(worst, `largest relative difference over ${cpu.losses.length} losses`).toBeLessThan(TOLERANCE);
      }, 600_000);
    }
  }
});
