/**
 * Backend selection: names and their errors, the fallback notice, the silenced tfjs banner,
 * readable user errors despite Emscripten's process handlers, and kernel shims in place after
 * selection. The user-facing parts run a real script in child processes, as `npx tsx` would.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tf } from "../../../src/torch/tf";
import {
  BACKEND_NAMES,
  BackendUnavailableError,
  backendFromEnv,
  parseBackendName,
  ready,
  selectBackend,
} from "../../../src/torch/backends/select";
import { installedKernelShims } from "../../../src/torch/backends/kernels/index";
import { sourceConditionFlags } from "../../../src/cli/source_condition";
import { libraryBundleEnv } from "../../setup/library_bundle";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../../..");
const script = path.join(here, "scripts/user_script.ts");
const tsx = path.join(repo, "node_modules/.bin/tsx");
const BANNER = /looks like you are running TensorFlow\.js in Node\.js/;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npx tsx user_script.ts <mode>` from the repository root, as a user would run it. */
function runScript(mode: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [script, mode], {
      cwd: repo,
      env: { ...process.env, ...libraryBundleEnv(), LIGHTNING_TS_BACKEND: "", ...env, NODE_OPTIONS: [...sourceConditionFlags(), env.NODE_OPTIONS ?? ""].join(" ") },
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
      resolve({ code, stdout, stderr });
    });
  });
}

/** Node's own lines (e.g. about --jitless flags) are not ours to judge. */
function ourStderr(stderr: string): string {
  return stderr
    .split("\n")
    .filter((l) => !/^Warning: disabling flag/.test(l))
    .join("\n");
}

describe("backend names", () => {
  const saved = process.env.LIGHTNING_TS_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.LIGHTNING_TS_BACKEND;
    else process.env.LIGHTNING_TS_BACKEND = saved;
  });

  it("accepts every documented name, any case, empty meaning auto", () => {
    for (const name of BACKEND_NAMES) expect(parseBackendName(name.toUpperCase())).toBe(name);
    expect(parseBackendName("  ")).toBe("auto");
  });

  it("a bad LIGHTNING_TS_BACKEND is an error naming the variable and every valid value", () => {
    process.env.LIGHTNING_TS_BACKEND = "tpu";
    expect(() => backendFromEnv()).toThrow(BackendUnavailableError);
    expect(() => backendFromEnv()).toThrow(
      "LIGHTNING_TS_BACKEND 'tpu' is not a backend lightning-ts knows: use one of auto, tensorflow, wasm, cpu, webgpu",
    );
    process.env.LIGHTNING_TS_BACKEND = "";
    expect(backendFromEnv()).toBe("auto");
  });

  it("selectBackend refuses an unknown name the same way", async () => {
    await expect(selectBackend("gpu0" as never)).rejects.toThrow(/'gpu0' is not a backend.*auto, tensorflow, wasm, cpu, webgpu/);
  });

  it("a named backend that is not installed says what to install", async () => {
    // tfjs-node is an optional peer, not installed in this repository.
    await expect(selectBackend("tensorflow")).rejects.toThrow(/npm install @tensorflow\/tfjs-node/);
  });
});

describe("ready()", () => {
  it("resolves with the running backend once a synchronous start has set it", async () => {
    await selectBackend("cpu");
    expect(tf.getBackend()).toBe("cpu");
    await expect(ready()).resolves.toBe("cpu");
    await selectBackend("wasm");
    await expect(ready()).resolves.toBe("wasm");
  });

  it("reports an asynchronous start that failed (WebGPU without a Vulkan driver), then a later start clears it", async () => {
    // (in a process of its own: webgpu_start_fails.ts)
    const r = await new Promise<Run>((resolve, reject) => {
      const child = spawn(tsx, [path.join(here, "scripts/webgpu_start_fails.ts")], {
        cwd: repo,
        env: { ...process.env, ...libraryBundleEnv(), LIGHTNING_TS_BACKEND: "", VK_ICD_FILENAMES: "/nonexistent/icd.json", NODE_OPTIONS: sourceConditionFlags().join(" ") },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
    expect(r.code, r.stderr).toBe(0);
    const [select, readyAfter, then] = JSON.parse(/RESULT (.*)/.exec(r.stdout)![1]!) as string[];
    expect(select).toMatch(/^select: backend 'webgpu' is not available.*npm install webgpu/);
    expect(readyAfter).toMatch(/^ready: backend 'webgpu' is not available/);
    expect(then).toBe("then: wasm");
  });
});

describe("selection in this process", () => {
  it("WASM: shims registered, no Emscripten rethrow handlers left on the process", async () => {
    const before = process.listeners("uncaughtException").length + process.listeners("unhandledRejection").length;
    expect(await selectBackend("wasm")).toBe("wasm");
    const after = process.listeners("uncaughtException").length + process.listeners("unhandledRejection").length;
    expect(after).toBe(before);
    for (const k of ["Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropFilter", "DepthwiseConv2dNativeBackpropInput", "UnsortedSegmentSum"]) {
      expect(tf.getKernel(k, "wasm"), k).toBeDefined();
    }
    expect(installedKernelShims()).toEqual(
      expect.arrayContaining(["wasm/Conv2DBackpropFilter", "wasm/MaxPoolGrad", "cpu/Conv2DBackpropFilter", "cpu/UnsortedSegmentSum"]),
    );
  });

  it("every pure-JS backend instance is born quiet, including ones created after selection", async () => {
    await selectBackend("wasm");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const factory = (tf.engine() as unknown as { registryFactory: Record<string, { factory: () => unknown }> })
        .registryFactory.cpu.factory;
      const fresh = factory() as { write(v: Float32Array, s: number[], d: string): unknown; dispose(): void };
      fresh.write(new Float32Array([1, 2]), [2], "float32");
      fresh.dispose();
      await selectBackend("cpu");
      tf.tensor([1, 2, 3]).dispose();
      expect(warn.mock.calls.map((c) => c.join(" ")).filter((l) => BANNER.test(l))).toEqual([]);
    } finally {
      warn.mockRestore();
    }
  });
});

describe("a user's script run with tsx", () => {
  it(
    "prints no banner and no notice, and a thrown error reads normally",
    async () => {
      const [thrown, late, rejected, fallback, bad] = await Promise.all([
        runScript("throw"),
        runScript("late-throw"),
        runScript("reject"),
        // Without WebAssembly (node --jitless) WASM cannot start: auto falls back with a notice.
        runScript("ok", { NODE_OPTIONS: "--jitless" }),
        runScript("ok", { LIGHTNING_TS_BACKEND: "quantum" }),
      ]);

      expect(thrown.stdout).toContain("backend=wasm");
      expect(thrown.stdout).toContain("tensors ok");
      for (const [run, message] of [
        [thrown, "Error: boom from user code"],
        [late, "Error: late boom from user code"],
        [rejected, "Error: rejected in user code"],
      ] as const) {
        expect(run.code).toBe(1);
        expect(run.stderr).toContain(message);
        // Emscripten's rethrowing handler would print its minified module as the source line.
        expect(run.stderr).not.toMatch(/ExitStatus|GROWABLE_HEAP|WasmBackendModule/);
        expect(run.stderr.length).toBeLessThan(2000);
        expect(run.stderr).not.toMatch(BANNER);
        expect(run.stderr).not.toContain("lightning-ts:");
      }

      expect(fallback.code).toBe(0);
      expect(fallback.stdout).toContain("backend=cpu");
      const notice = ourStderr(fallback.stderr).trim().split("\n");
      expect(notice).toEqual([
        "lightning-ts: WASM backend unavailable (this Node.js has no WebAssembly); using the pure-JS cpu backend (slow)",
      ]);

      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain(
        "LIGHTNING_TS_BACKEND 'quantum' is not a backend lightning-ts knows: use one of auto, tensorflow, wasm, cpu, webgpu",
      );
    },
    60_000,
  );
});
