import { describe, it, expect } from "vitest";
import type { KernelConfig } from "@tensorflow/tfjs-core";
import { tf, ready } from "lightning-ts/torch";
import { findKernel } from "../../../src/torch/backends/kernel_lookup";

await ready();

describe("findKernel", () => {
  it("is tf.getKernel, following the registry as kernels come and go", () => {
    const backend = tf.getBackend();
    const name = "LightningTsLookupProbe";
    expect(findKernel("Relu", backend)).toBe(tf.getKernel("Relu", backend));
    expect(findKernel(name, backend)).toBeUndefined();
    const first: KernelConfig = {
      kernelName: name,
      backendName: backend,
      kernelFunc: () => ({ dataId: {}, shape: [], dtype: "float32" }),
    };
    const second: KernelConfig = { ...first, kernelFunc: () => ({ dataId: {}, shape: [1], dtype: "float32" }) };
    tf.registerKernel(first);
    expect(findKernel(name, backend)).toBe(first);
    tf.unregisterKernel(name, backend);
    expect(findKernel(name, backend)).toBeUndefined();
    tf.registerKernel(second);
    expect(findKernel(name, backend)).toBe(second);
    expect(findKernel(name, "no-such-backend")).toBeUndefined();
    tf.unregisterKernel(name, backend);
  });
});
