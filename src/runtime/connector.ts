import { Accelerator } from "./accelerators/accelerator.ts";
import { ACCELERATOR_REGISTRY } from "./accelerators/registry.ts";
import { MisconfigurationError } from "./errors.ts";
import { ClusterEnvironment } from "./plugins/environments/cluster_environment.ts";
import { detectClusterEnvironment } from "./plugins/environments/detect.ts";
import { Precision, type PrecisionName } from "./plugins/precision/precision.ts";
import { FullPrecision } from "./plugins/precision/full_precision.ts";
import { MixedPrecision } from "./plugins/precision/mixed_precision.ts";
import { HalfPrecision } from "./plugins/precision/half_precision.ts";
import { Strategy } from "./strategies/strategy.ts";
import { SingleDeviceStrategy } from "./strategies/single_device.ts";
import { DDPStrategy } from "./strategies/ddp.ts";
import type { WebGPUAccelerator } from "./accelerators/webgpu.ts";
import { DDPSpawnStrategy } from "./strategies/ddp_spawn.ts";
import { describeValue } from "./utilities/describe.ts";
import { checkOptionKeys, optionKeys } from "./utilities/option_keys.ts";

export type AcceleratorFlag = "auto" | "cpu" | "gpu" | "wasm" | "webgpu" | "cuda";
export type StrategyFlag = "auto" | "single" | "ddp" | "ddp_spawn";
/** Every value Lightning accepts; the ones not supported yet are refused with a clear error. */
export type PrecisionFlag =
  | "32-true"
  | "16-mixed"
  | "bf16-mixed"
  | "16-true"
  | "bf16-true"
  | "64-true"
  | 32
  | "32"
  | 16
  | "16"
  | "bf16"
  | 64
  | "64";
/** A number of devices, a list of device indices, `"auto"`, or the same as a string (`"2"`, `"0,1"`, `"-1"`). */
export type DevicesFlag = number | number[] | string;

export interface ConnectorOptions {
  accelerator?: AcceleratorFlag | Accelerator;
  devices?: DevicesFlag;
  strategy?: StrategyFlag | Strategy;
  precision?: PrecisionFlag | Precision;
  numNodes?: number;
  /** A precision plugin and/or a cluster environment, instead of the defaults. */
  plugins?: Array<Precision | ClusterEnvironment>;
}

/** Checked in the constructor (utilities/option_keys.ts). */
const CONNECTOR_OPTION_KEYS = optionKeys<ConnectorOptions>()(["accelerator", "devices", "strategy", "precision", "numNodes", "plugins"]);

const STRATEGIES_SUPPORTED = ["auto", "single", "ddp", "ddp_spawn"] as const;
const PRECISION_ALIASES: Record<string, PrecisionName> = {
  "32-true": "32-true",
  "32": "32-true",
  "16-mixed": "16-mixed",
  "16": "16-mixed",
  "bf16-mixed": "bf16-mixed",
  bf16: "bf16-mixed",
  "16-true": "16-true",
  "bf16-true": "bf16-true",
  "64-true": "64-true",
  "64": "64-true",
};
const VALID_PRECISION = `valid: 32-true, 16-mixed, bf16-mixed, 16-true, bf16-true (aliases 32, "32", 16, "16", "bf16")`;

/**
 * Turns the Lite/Trainer flags into the three objects training runs on (Fabric's `_Connector`):
 * an accelerator, a strategy and a precision plugin, plus the cluster environment. Every flag
 * is validated here, once, and every value that is invalid or not supported yet fails with an
 * error naming the value and what is accepted — never a silent fallback to something else.
 */
export class Connector {
  readonly accelerator: Accelerator;
  readonly strategy: Strategy;
  readonly precision: Precision;
  readonly clusterEnvironment: ClusterEnvironment;
  /** Device indices `devices` resolved to. */
  readonly parallelDevices: number[];
  readonly numNodes: number;

  constructor(options: ConnectorOptions = {}) {
    checkOptionKeys(options, CONNECTOR_OPTION_KEYS, "LightningLite");
    const accelFlag = options.accelerator ?? "auto";
    const strategyFlag = options.strategy ?? "auto";
    const precisionFlag = options.precision ?? "32-true";
    const { precisionPlugin, environmentPlugin } = splitPlugins(options.plugins);

    // 1. Syntax of every flag first, so a typo is reported before anything about this machine.
    checkStrategyFlag(strategyFlag);
    checkAcceleratorFlag(accelFlag);
    const devices = parseDevicesFlag(options.devices ?? "auto");
    this.numNodes = parseNumNodes(options.numNodes ?? 1);
    if (precisionPlugin && options.precision !== undefined) {
      throw new MisconfigurationError("precision was given both as the `precision` flag and as a plugin: choose one");
    }

    // 2. Precision: the plugin, or the flag (validated and refused here while unsupported).
    this.precision = precisionPlugin ?? (precisionFlag instanceof Precision ? precisionFlag : precisionFromFlag(precisionFlag));

    // 3. Accelerator and devices.
    let acceleratorInput: AcceleratorFlag | Accelerator = accelFlag;
    if (strategyFlag instanceof Strategy && strategyFlag.accelerator) {
      if (accelFlag !== "auto") {
        throw new MisconfigurationError(
          `the accelerator was set both on the strategy (${strategyFlag.accelerator.name}) and as accelerator="${String(accelFlag)}": choose one`,
        );
      }
      acceleratorInput = strategyFlag.accelerator;
    }
    this.accelerator = resolveAccelerator(acceleratorInput);
    this.parallelDevices = this.accelerator.parseDevices(devices);

    // 4. Where this process sits in the job.
    this.clusterEnvironment = environmentPlugin ?? detectClusterEnvironment();

    // 5. Strategy.
    if (strategyFlag instanceof Strategy) {
      this.strategy = strategyFlag;
      this.strategy.accelerator = this.accelerator;
    } else {
      const reason = this.multiProcessReason(devices);
      if (reason !== null && strategyFlag === "single") {
        throw new MisconfigurationError(`strategy="single" runs one process on one device, but ${reason}`);
      }
      if (strategyFlag === "ddp_spawn") {
        // (the workers are started on this machine: a job across machines is ddp's, or a launcher's)
        if (this.numNodes > 1) throw new MisconfigurationError(`strategy="ddp_spawn" starts its processes on this machine; numNodes=${this.numNodes} needs strategy="ddp" (or a cluster launcher)`);
        this.strategy = new DDPSpawnStrategy({
          accelerator: this.accelerator,
          parallelDevices: this.parallelDevices.map((i) => this.accelerator.device(i)),
          clusterEnvironment: this.clusterEnvironment,
        });
      } else if (reason !== null || strategyFlag === "ddp") {
        // Several processes (devices, nodes, or a launcher's WORLD_SIZE), or ddp asked for: DDP.
        this.strategy = new DDPStrategy({
          accelerator: this.accelerator,
          parallelDevices: this.parallelDevices.map((i) => this.accelerator.device(i)),
          clusterEnvironment: this.clusterEnvironment,
          numNodes: this.numNodes,
        });
      } else {
        this.strategy = new SingleDeviceStrategy(this.accelerator.device(this.parallelDevices[0]), {
          accelerator: this.accelerator,
        });
      }
    }
    this.strategy.precision = this.precision;
  }

  /** Why these flags need more than one process, or null when one process does. */
  private multiProcessReason(devices: number | number[] | "auto"): string | null {
    const n = this.parallelDevices.length;
    if (n > 1) {
      const shown = Array.isArray(devices) ? `[${devices.join(", ")}]` : JSON.stringify(devices);
      return `devices=${shown} selects ${n} ${this.accelerator.name} devices`;
    }
    if (this.numNodes > 1) return `numNodes=${this.numNodes} asks for several machines`;
    const env = this.clusterEnvironment;
    if (env.worldSize() > 1) {
      return `the environment makes this process rank ${env.globalRank()} of WORLD_SIZE=${env.worldSize()} (started by a launcher)`;
    }
    return null;
  }
}

function splitPlugins(plugins: ConnectorOptions["plugins"]): {
  precisionPlugin: Precision | null;
  environmentPlugin: ClusterEnvironment | null;
} {
  let precisionPlugin: Precision | null = null;
  let environmentPlugin: ClusterEnvironment | null = null;
  for (const p of plugins ?? []) {
    if (p instanceof Precision) {
      if (precisionPlugin) throw new MisconfigurationError("plugins: more than one precision plugin given; expected one at most");
      precisionPlugin = p;
    } else if (p instanceof ClusterEnvironment) {
      if (environmentPlugin) throw new MisconfigurationError("plugins: more than one cluster environment given; expected one at most");
      environmentPlugin = p;
    } else {
      throw new MisconfigurationError(
        `plugins: ${describeValue(p)} is not a plugin; expected a Precision or a ClusterEnvironment instance`,
      );
    }
  }
  return { precisionPlugin, environmentPlugin };
}

function checkStrategyFlag(flag: unknown): void {
  if (flag instanceof Strategy) return;
  if ((STRATEGIES_SUPPORTED as readonly unknown[]).includes(flag)) return;
  throw new MisconfigurationError(
    `strategy=${describeValue(flag)} is not a valid strategy; valid: ${STRATEGIES_SUPPORTED.join(", ")} or a Strategy instance`,
  );
}

function acceleratorNames(): string[] {
  return ["auto", "gpu", ...ACCELERATOR_REGISTRY.names()];
}

function checkAcceleratorFlag(flag: unknown): void {
  if (flag instanceof Accelerator) return;
  if (typeof flag === "string" && acceleratorNames().includes(flag)) return;
  throw new MisconfigurationError(
    `accelerator=${describeValue(flag)} is not a valid accelerator; valid: ${acceleratorNames().join(", ")} or an Accelerator instance`,
  );
}

/**
 * `auto`: a GPU backend if one works here, else the CPU; `gpu`: CUDA (tfjs-node-gpu), else
 * WebGPU with a GPU adapter (webgpu_adapter.ts).
 */
function resolveAccelerator(flag: AcceleratorFlag | Accelerator): Accelerator {
  if (flag instanceof Accelerator) return checkAvailable(flag, flag.name);
  if (flag === "auto" || flag === "gpu") {
    const cuda = ACCELERATOR_REGISTRY.get("cuda");
    if (cuda.isAvailable()) return cuda;
    const webgpu = ACCELERATOR_REGISTRY.get("webgpu") as WebGPUAccelerator;
    // (auto asks Dawn only where a GPU can exist: a CPU-only machine starts no probe)
    const webgpuReason = flag === "auto" && !webgpu.mayHaveAdapter() ? "no GPU here" : webgpu.unavailableReason();
    if (webgpuReason === null) return webgpu;
    if (flag === "auto") return ACCELERATOR_REGISTRY.get("cpu");
    throw new MisconfigurationError(
      `accelerator="gpu": no GPU backend works here. CUDA: ${cuda.installHint}. WebGPU: ${webgpuReason}. ` +
        `Available accelerators here: ${ACCELERATOR_REGISTRY.available().join(", ")}`,
    );
  }
  return checkAvailable(ACCELERATOR_REGISTRY.get(flag), flag);
}

function checkAvailable(acc: Accelerator, flag: string): Accelerator {
  const reason = acc.unavailableReason();
  if (reason === null) return acc;
  throw new MisconfigurationError(`accelerator="${flag}" is not available on this machine: ${reason}. Available accelerators here: ${ACCELERATOR_REGISTRY.available().join(", ")}`);
}

/** Validates `devices` and normalises its string forms (Lightning's device parser). */
export function parseDevicesFlag(flag: unknown, original: unknown = flag): number | number[] | "auto" {
  const bad = (why: string) =>
    new MisconfigurationError(
      `devices=${describeValue(original)} is not valid: ${why}. Use a positive integer, -1 (all), a list of distinct ` +
        `device indices, or "auto"`,
    );
  if (flag === "auto") return "auto";
  if (typeof flag === "string") {
    const s = flag.trim();
    if (/^-?\d+$/.test(s)) return parseDevicesFlag(Number(s), flag);
    if (/^\d+(\s*,\s*\d+)*\s*,?$/.test(s)) {
      return parseDevicesFlag(
        s
          .split(",")
          .map((x) => x.trim())
          .filter((x) => x !== "")
          .map(Number),
        flag,
      );
    }
    throw bad("not a number, a comma-separated list of indices, or \"auto\"");
  }
  if (typeof flag === "number") {
    if (!Number.isInteger(flag)) throw bad("not an integer");
    if (flag === 0) throw bad("zero devices");
    if (flag < -1) throw bad("negative");
    return flag;
  }
  if (Array.isArray(flag)) {
    if (flag.length === 0) throw bad("an empty list");
    for (const i of flag) {
      if (typeof i !== "number" || !Number.isInteger(i) || i < 0) throw bad(`${describeValue(i)} is not a device index`);
    }
    if (new Set(flag).size !== flag.length) throw bad("an index appears twice");
    return flag as number[];
  }
  throw bad("unsupported type");
}

function parseNumNodes(n: unknown): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
    throw new MisconfigurationError(`numNodes=${describeValue(n)} is not valid: use a positive integer`);
  }
  return n;
}

/** The precision plugin for a flag value; 64-bit is refused (no backend has float64). */
export function precisionFromFlag(flag: unknown): Precision {
  const canonical = typeof flag === "string" || typeof flag === "number" ? PRECISION_ALIASES[String(flag)] : undefined;
  if (canonical === undefined) {
    throw new MisconfigurationError(
      `precision=${describeValue(flag)} is not a valid precision; ${VALID_PRECISION}`,
    );
  }
  if (canonical === "64-true") {
    throw new MisconfigurationError(
      `precision=${describeValue(flag)} is refused: TensorFlow.js has no float64 dtype on any backend, so double precision ` +
        `cannot be honoured; use 32-true (the most precise there is) or a 16-bit one; ${VALID_PRECISION}`,
    );
  }
  if (canonical === "16-mixed" || canonical === "bf16-mixed") return new MixedPrecision(canonical);
  if (canonical === "16-true" || canonical === "bf16-true") return new HalfPrecision(canonical);
  return new FullPrecision();
}
