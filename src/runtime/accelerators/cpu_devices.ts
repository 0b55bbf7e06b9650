import { MisconfigurationError } from "../errors.ts";

/**
 * `devices` on a CPU-like accelerator (cpu, wasm) is a number of processes, each on the one CPU
 * device (Fabric's `_parse_cpu_cores`): a positive integer or "auto" (one). A list of indices
 * or -1 names devices that do not exist there.
 */
export function parseCpuDevices(accelerator: string, devices: number | number[] | "auto"): number[] {
  if (devices === "auto") return [0];
  if (typeof devices === "number" && Number.isInteger(devices) && devices > 0) {
    return Array.from({ length: devices }, (_, i) => i);
  }
  const shown = Array.isArray(devices) ? `[${devices.join(", ")}]` : String(devices);
  throw new MisconfigurationError(
    `devices=${shown} is not valid for the ${accelerator} accelerator: there it is a number of processes, ` +
      `a positive integer or "auto"`,
  );
}
