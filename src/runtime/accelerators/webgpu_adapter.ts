/**
 * Which WebGPU adapter this machine has, known before any backend starts: the connector decides
 * between accelerators synchronously, and Dawn hands out adapters only asynchronously, so a
 * short child process asks Dawn (`requestAdapter`) and reports what it found. The answer is
 * cached for the process and passed to the processes it starts (DDP ranks) through the
 * environment.
 *
 * A software adapter (Mesa's llvmpipe, SwiftShader: Dawn marks them `isFallbackAdapter`) runs
 * WebGPU on the CPU, far slower than the CPU backends; it counts only when
 * `LIGHTNING_TS_WEBGPU_ALLOW_SOFTWARE=1` says so (tests, CI, trying the GPU path without a GPU).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

export interface WebGPUAdapterProbe {
  /** An adapter was found. */
  found: boolean;
  /** Dawn's fallback (CPU) adapter. */
  software: boolean;
  description: string;
  /** Why none was found (no Vulkan driver, ...). */
  reason: string;
}

const ENV = "LIGHTNING_TS_WEBGPU_ADAPTER";
let cached: WebGPUAdapterProbe | null = null;

export function softwareAdapterAllowed(): boolean {
  return process.env.LIGHTNING_TS_WEBGPU_ALLOW_SOFTWARE === "1";
}

/**
 * Whether this machine shows a GPU to its processes at all (a DRM render node, or NVIDIA's
 * device files): without one only a software adapter can exist, so `auto` need not ask Dawn.
 */
export function gpuDeviceFilesPresent(): boolean {
  try {
    if (readdirSync("/dev/dri").some((f) => f.startsWith("renderD"))) return true;
  } catch {
    /* no DRM devices */
  }
  return existsSync("/dev/nvidia0") || existsSync("/dev/dxg");
}

export function probeWebGPUAdapter(): WebGPUAdapterProbe {
  // (the environment first: what the launching process found, or what a test sets)
  const inherited = process.env[ENV];
  if (inherited) {
    try {
      return JSON.parse(inherited) as WebGPUAdapterProbe;
    } catch {
      /* probe again */
    }
  }
  if (cached) return cached;
  const script = `
    import { create, globals } from "webgpu";
    Object.assign(globalThis, globals);
    const adapter = await create([]).requestAdapter();
    const info = adapter?.info;
    process.stdout.write("ADAPTER " + JSON.stringify(adapter ? { found: true, software: info.isFallbackAdapter === true || info.architecture === "software", description: info.description || info.device || info.vendor, reason: "" } : { found: false, software: false, description: "", reason: "Dawn found no adapter (is a Vulkan driver installed?)" }) + "\\n");
    process.exit(0);`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 30_000, cwd: import.meta.dirname });
  const line = /ADAPTER (.*)/.exec(r.stdout ?? "")?.[1];
  let probe: WebGPUAdapterProbe;
  if (line) {
    probe = JSON.parse(line) as WebGPUAdapterProbe;
  } else {
    const why = (r.error?.message ?? r.stderr ?? "").split("\n").find((l) => l.trim() !== "" && !l.startsWith("Warning:")) ?? `exit ${r.status}`;
    probe = { found: false, software: false, description: "", reason: `Dawn could not start (${why.trim()})` };
  }
  process.env[ENV] = JSON.stringify(probe);
  return (cached = probe);
}
