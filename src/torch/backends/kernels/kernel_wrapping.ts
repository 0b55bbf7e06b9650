/**
 * Wrapping every kernel of a backend (what 16-bit rounding and the kernel profiler do): each
 * wrapper kind keeps its own set of wrappers, so kinds stack in either order, and lists the
 * registry again only after more shims were installed (listing it costs as much as a small
 * kernel; kernels registered later by lightning-ts itself need no wrapper).
 */
import type { KernelConfig } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import { installedKernelShims } from "./index.ts";

export type KernelFunc = KernelConfig["kernelFunc"];

export class KernelWrapping {
  private readonly wrappers = new WeakSet<KernelFunc>();
  private readonly wrappedAt = new Map<string, number>();

  constructor(private readonly wrap: (config: KernelConfig, backendName: string) => KernelFunc) {}

  /** Wraps the backend's kernels not wrapped by this kind yet. */
  ensure(backendName: string): void {
    const stamp = installedKernelShims().length;
    if (this.wrappedAt.get(backendName) === stamp) return;
    this.wrappedAt.set(backendName, stamp);
    for (const config of tf.getKernelsForBackend(backendName)) {
      if (this.wrappers.has(config.kernelFunc)) continue;
      const wrapped = this.wrap(config, backendName);
      this.wrappers.add(wrapped);
      tf.unregisterKernel(config.kernelName, backendName);
      tf.registerKernel({ ...config, kernelFunc: wrapped });
    }
  }
}
