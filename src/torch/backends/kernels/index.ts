import type { KernelConfig, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import { shimKernel, type KernelContext } from "./kernel_context.ts";
import { conv2dBackpropFilterDirect, conv2dBackpropFilterPanels } from "./conv2d_backprop_filter.ts";
import { conv2dBackpropInputDirect, conv2dBackpropInputMatMul } from "./conv2d_backprop_input.ts";
import { conv2dDirect, conv2dPanels } from "./conv2d.ts";
import { depthwiseConv2dBackpropFilter, depthwiseConv2dBackpropInput } from "./depthwise_conv2d_backprop.ts";
import { unsortedSegmentSum } from "./unsorted_segment_sum.ts";
import { maxPoolGrad } from "./max_pool_grad.ts";
import { batchMatMulUntransposed } from "./batch_mat_mul.ts";
import { transposeBlocks } from "./transpose.ts";
import { gatherSlices } from "./gather.ts";
import { sliceBox, splitParts } from "./slice.ts";
import { concatRows, packRows } from "./concat.ts";
import { tileBlocks } from "./tile.ts";
import { powSpecial } from "./pow.ts";
import { LOG_SOFTMAX, LOG_SOFTMAX_GRAD, logSoftmax, logSoftmaxGrad, logSoftmaxGradient } from "./log_softmax.ts";
import { sumLeadingAxes } from "./sum.ts";
import { LAYER_NORM, LAYER_NORM_GRAD, LAYER_NORM_PARAM_GRAD, layerNorm, layerNormGrad, layerNormGradient, layerNormParamGrad } from "./layer_norm.ts";
import { BATCH_NORM, BATCH_NORM_GRAD, BATCH_NORM_PARAM_GRAD, batchNorm, batchNormGrad, batchNormGradient, batchNormParamGrad } from "./batch_norm.ts";
import {
  GRU_CELL,
  GRU_CELL_GRAD,
  LSTM_CELL,
  LSTM_CELL_GRAD,
  RNN_CELL,
  RNN_CELL_GRAD,
  gruCell,
  gruCellGrad,
  lstmCell,
  lstmCellGrad,
  rnnCell,
  rnnCellGrad,
} from "./recurrent_cells.ts";
import { RELU_GRAD, reluGrad, reluGradient } from "./relu_grad.ts";
import { identityShared } from "./identity.ts";
import { LINEAR, linear, linearGradient } from "./linear.ts";
import { CROSS_ENTROPY, CROSS_ENTROPY_GRAD, crossEntropy, crossEntropyGrad, crossEntropyGradient } from "./cross_entropy.ts";
import { MAX_POOL_NCHW, MAX_POOL_NCHW_GRAD, maxPoolNCHW, maxPoolNCHWGrad, maxPoolNCHWGradient } from "./max_pool_nchw.ts";

/**
 * The kernels lightning-ts adds to or replaces in tfjs's backends so that every layer and
 * loss of the torch layer trains, and trains at a usable speed (docs/backends.md).
 */
export interface KernelShim {
  kernelName: string;
  backendName: "wasm" | "cpu";
  /** True when the backend has its own kernel and ours replaces it. */
  replaces: boolean;
  why: string;
  body: (ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap) => TensorInfo | TensorInfo[];
}

export const KERNEL_SHIMS: readonly KernelShim[] = [
  {
    kernelName: "BatchMatMul",
    backendName: "wasm",
    replaces: true,
    why: "tfjs's takes a slow path whenever a transpose flag is set (12x on an nn.Linear forward): transpose, then the plain product",
    body: batchMatMulUntransposed,
  },
  {
    kernelName: "Transpose",
    backendName: "wasm",
    replaces: true,
    why: "tfjs's moves one value at a time; NCHW ⇄ NHWC around each convolution is a batched 2-D transpose, done in 4x4 SIMD blocks (~3x)",
    body: transposeBlocks,
  },
  {
    kernelName: "Sum",
    backendName: "wasm",
    replaces: true,
    why: "tfjs's transposes a tensor reduced over leading axes (every bias gradient) before summing it in float32; one float64 pass instead",
    body: sumLeadingAxes,
  },
  {
    kernelName: "Identity",
    backendName: "wasm",
    replaces: true,
    why: "tfjs's copies the data; the tape clones every tensor it saves for the backward (the pure-JS backend shares, as this does)",
    body: identityShared,
  },
  {
    kernelName: RELU_GRAD,
    backendName: "wasm",
    replaces: false,
    why: "ReLU's gradient in one pass (tfjs's: Step, Cast and Multiply, two intermediate tensors)",
    body: reluGrad,
  },
  {
    kernelName: "Conv2D",
    backendName: "wasm",
    replaces: true,
    why: "XNNPACK reads each output position's pixels through a pointer per row and step; gathered into a panel first, the same sums run 1.14–1.42x faster (the same bits)",
    body: conv2dPanels,
  },
  {
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    replaces: false,
    why: "missing: conv2d filter gradient (no CNN training)",
    body: conv2dBackpropFilterPanels,
  },
  {
    kernelName: "Conv2DBackpropInput",
    backendName: "wasm",
    replaces: true,
    why: "tfjs's is a scalar loop outside XNNPACK, ~9x slower than a Conv2D (stride 1) or matMul + col2im",
    body: conv2dBackpropInputMatMul,
  },
  {
    kernelName: "DepthwiseConv2dNativeBackpropFilter",
    backendName: "wasm",
    replaces: false,
    why: "missing: depthwise (groups = channels) filter gradient",
    body: depthwiseConv2dBackpropFilter,
  },
  {
    kernelName: "DepthwiseConv2dNativeBackpropInput",
    backendName: "wasm",
    replaces: false,
    why: "missing: depthwise (groups = channels) input gradient",
    body: depthwiseConv2dBackpropInput,
  },
  {
    kernelName: "UnsortedSegmentSum",
    backendName: "wasm",
    replaces: false,
    why: "missing: gather / Embedding gradient",
    body: unsortedSegmentSum,
  },
  {
    kernelName: "MaxPoolGrad",
    backendName: "wasm",
    replaces: true,
    why: "tfjs's routes the gradient of windows whose values are all <= 0 to the wrong element (or drops it)",
    body: maxPoolGrad,
  },
  {
    kernelName: "Slice",
    backendName: "wasm",
    replaces: true,
    why: "tfjs's copies its whole input out of the heap before copying the slice out of that",
    body: sliceBox,
  },
  {
    kernelName: "SplitV",
    backendName: "wasm",
    replaces: true,
    why: "tfjs's runs that Slice once per part: an LSTM's gates, split in four, were copied five times (3–9x)",
    body: splitParts,
  },
  {
    kernelName: "Concat",
    backendName: "wasm",
    replaces: true,
    why: "tfjs's makes a view per input per row: sin and cos stacked on a new last axis, [5000, 16, 2], took 10–12 ms (now 1.5)",
    body: concatRows,
  },
  {
    kernelName: "Pack",
    backendName: "wasm",
    replaces: true,
    why: "tf.stack: that Concat, after a reshaped tensor per input (a collated batch of 64 images: ~1.5x)",
    body: packRows,
  },
  ...(["wasm", "cpu"] as const).flatMap((backendName): KernelShim[] => [
    {
      kernelName: "GatherV2",
      backendName,
      replaces: true,
      why: "tfjs's computes each element's coordinates (60–80 ns an element): an Embedding lookup or an RNN's time step is whole slices, copied as such (~10–100x)",
      body: gatherSlices,
    },
    {
      kernelName: "Pow",
      backendName,
      replaces: true,
      why: "x ** 3 and PyTorch's other special exponents (2, 0.5, -1, -2, -0.5) as its CPU kernel computes them, a multiplication instead of pow per element",
      body: powSpecial,
    },
    {
      kernelName: "Tile",
      backendName,
      replaces: true,
      why: "tfjs's finds every output element's source one at a time (WASM) or through a TensorBuffer (JS): broadcasting an attention mask in tf.where took 0.85 ms",
      body: tileBlocks,
    },
    {
      kernelName: LINEAR,
      backendName,
      replaces: false,
      why: "F.linear as one kernel, product and bias (tfjs's ops: a product and an add, the tape saving four tensors)",
      body: linear,
    },
    {
      kernelName: CROSS_ENTROPY,
      backendName,
      replaces: false,
      why: "cross-entropy over class indices as one kernel (tfjs's ops: ~20 kernels with their gradients)",
      body: crossEntropy,
    },
    {
      kernelName: CROSS_ENTROPY_GRAD,
      backendName,
      replaces: false,
      why: "its gradient",
      body: crossEntropyGrad,
    },
    {
      kernelName: LOG_SOFTMAX,
      backendName,
      replaces: false,
      why: "F.logSoftmax as one kernel with SIMD exponentials (tfjs's: six kernels, a float32 expf per element)",
      body: logSoftmax,
    },
    {
      kernelName: LOG_SOFTMAX_GRAD,
      backendName,
      replaces: false,
      why: "its gradient",
      body: logSoftmaxGrad,
    },
    {
      kernelName: BATCH_NORM,
      backendName,
      replaces: false,
      why: "batch normalisation in training as one kernel, statistics in float64 as PyTorch's CPU kernel (tfjs's ops: ~15 kernels, ~30 in the gradient)",
      body: batchNorm,
    },
    {
      kernelName: BATCH_NORM_GRAD,
      backendName,
      replaces: false,
      why: "its input gradient",
      body: batchNormGrad,
    },
    {
      kernelName: BATCH_NORM_PARAM_GRAD,
      backendName,
      replaces: false,
      why: "its weight and bias gradients",
      body: batchNormParamGrad,
    },
    {
      kernelName: LAYER_NORM,
      backendName,
      replaces: false,
      why: "layer normalisation as one kernel, statistics in float64 (tfjs's ops: 9 kernels, ~20 in the gradient)",
      body: layerNorm,
    },
    {
      kernelName: LAYER_NORM_GRAD,
      backendName,
      replaces: false,
      why: "its input gradient",
      body: layerNormGrad,
    },
    {
      kernelName: LAYER_NORM_PARAM_GRAD,
      backendName,
      replaces: false,
      why: "its weight and bias gradients",
      body: layerNormParamGrad,
    },
    {
      kernelName: LSTM_CELL,
      backendName,
      replaces: false,
      why: "an nn.LSTM time step after its hidden product as one kernel (tfjs's ops: ~13 kernels, ~25 in the gradient)",
      body: lstmCell,
    },
    {
      kernelName: LSTM_CELL_GRAD,
      backendName,
      replaces: false,
      why: "its gradient",
      body: lstmCellGrad,
    },
    {
      kernelName: GRU_CELL,
      backendName,
      replaces: false,
      why: "an nn.GRU time step after its hidden product as one kernel (tfjs's ops: ~12 kernels, ~20 in the gradient)",
      body: gruCell,
    },
    {
      kernelName: GRU_CELL_GRAD,
      backendName,
      replaces: false,
      why: "its gradient",
      body: gruCellGrad,
    },
    {
      kernelName: RNN_CELL,
      backendName,
      replaces: false,
      why: "an nn.RNN time step after its hidden product as one kernel (tfjs's ops: gather, add, tanh; four in the gradient)",
      body: rnnCell,
    },
    {
      kernelName: RNN_CELL_GRAD,
      backendName,
      replaces: false,
      why: "its gradient",
      body: rnnCellGrad,
    },
    {
      kernelName: MAX_POOL_NCHW,
      backendName,
      replaces: false,
      why: "max pooling in PyTorch's NCHW layout (tfjs pools channels-last: a transpose in and out, each way)",
      body: maxPoolNCHW,
    },
    {
      kernelName: MAX_POOL_NCHW_GRAD,
      backendName,
      replaces: false,
      why: "its gradient, in NCHW",
      body: maxPoolNCHWGrad,
    },
  ]),
  {
    kernelName: "Conv2DBackpropFilter",
    backendName: "cpu",
    replaces: true,
    why: "tfjs's takes ~28 s per step of the benchmark CNN",
    body: conv2dBackpropFilterDirect,
  },
  {
    kernelName: "Conv2D",
    backendName: "cpu",
    replaces: true,
    why: "tfjs's re-reads the input once per output channel; ~3x slower",
    body: conv2dDirect,
  },
  {
    kernelName: "Conv2DBackpropInput",
    backendName: "cpu",
    replaces: true,
    why: "tfjs's is ~2x slower than per-tap dot products over contiguous rows",
    body: conv2dBackpropInputDirect,
  },
  {
    kernelName: "MaxPoolGrad",
    backendName: "cpu",
    replaces: true,
    why: "tfjs's goes through TensorBuffer indexing per element; ~30x slower",
    body: maxPoolGrad,
  },
  {
    kernelName: "UnsortedSegmentSum",
    backendName: "cpu",
    replaces: true,
    why: "tfjs's is O(numSegments x size) with five tensors per segment",
    body: unsortedSegmentSum,
  },
];

const installed = new Set<KernelShim>();
const originals = new Map<string, KernelConfig>();

function key(kernelName: string, backendName: string): string {
  return `${backendName}/${kernelName}`;
}

/**
 * Registers every shim whose backend package is loaded (idempotent; call again after loading
 * a backend). A shim that replaces a kernel waits until that kernel is registered, so a
 * backend package loaded later cannot overwrite it; a shim for a missing kernel steps aside
 * if a newer tfjs ships the kernel itself.
 */
export function installKernelShims(): string[] {
  const added: string[] = [];
  if (!tf.getGradient(MAX_POOL_NCHW)) tf.registerGradient(maxPoolNCHWGradient);
  if (tf.getGradient("Relu") !== reluGradient) tf.registerGradient(reluGradient);
  if (!tf.getGradient(CROSS_ENTROPY)) tf.registerGradient(crossEntropyGradient);
  if (!tf.getGradient(LINEAR)) tf.registerGradient(linearGradient);
  if (!tf.getGradient(LOG_SOFTMAX)) tf.registerGradient(logSoftmaxGradient);
  if (!tf.getGradient(BATCH_NORM)) tf.registerGradient(batchNormGradient);
  if (!tf.getGradient(LAYER_NORM)) tf.registerGradient(layerNormGradient);
  for (const shim of KERNEL_SHIMS) {
    if (installed.has(shim)) continue;
    const backendLoaded = tf.getKernelsForBackend(shim.backendName).length > 0;
    if (!backendLoaded) continue;
    const existing = tf.getKernel(shim.kernelName, shim.backendName);
    if (shim.replaces) {
      if (!existing) continue;
      originals.set(key(shim.kernelName, shim.backendName), existing);
      tf.unregisterKernel(shim.kernelName, shim.backendName);
    } else if (existing) {
      continue;
    }
    tf.registerKernel({
      kernelName: shim.kernelName,
      backendName: shim.backendName,
      kernelFunc: shimKernel(shim.backendName, shim.body) as KernelConfig["kernelFunc"],
    });
    installed.add(shim);
    added.push(key(shim.kernelName, shim.backendName));
  }
  return added;
}

/** The shims registered so far, as "backend/Kernel". */
export function installedKernelShims(): string[] {
  return [...installed].map((s) => key(s.kernelName, s.backendName));
}

/** Runs tfjs's own kernel that the shim for `kernelName` replaced, for the cases the shim leaves to it. */
export function runOriginal(ctx: KernelContext, kernelName: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const original = originalKernel(kernelName, ctx.backendName);
  if (!original) throw new Error(`lightning-ts: tfjs's ${kernelName} for '${ctx.backendName}' is not registered`);
  return ctx.runConfig(original, inputs, attrs);
}

/** tfjs's own kernel that a shim replaced (for tests and benchmarks), if any. */
export function originalKernel(kernelName: string, backendName: string): KernelConfig | undefined {
  return originals.get(key(kernelName, backendName));
}

/**
 * Runs `fn` with tfjs's own kernels back in place of every shim that replaced one on
 * `backendName` (shims for kernels tfjs lacks stay). For references in tests and benchmarks;
 * synchronous so no other work can observe the swap.
 */
export function withOriginalKernels<T>(backendName: string, fn: () => T): T {
  const swapped: Array<{ shim: KernelConfig; original: KernelConfig }> = [];
  for (const shim of installed) {
    if (shim.backendName !== backendName || !shim.replaces) continue;
    const original = originalKernel(shim.kernelName, backendName);
    const current = tf.getKernel(shim.kernelName, backendName);
    if (!original || !current) continue;
    tf.unregisterKernel(shim.kernelName, backendName);
    tf.registerKernel(original);
    swapped.push({ shim: current, original });
    // The engine runs setup functions when a backend starts; one started while the shim was
    // registered never set the original up (WASM binds its C++ entry points there).
    const backend = tf.findBackend(backendName);
    if (backend && original.setupFunc) original.setupFunc(backend);
  }
  try {
    return fn();
  } finally {
    for (const { shim } of swapped) {
      tf.unregisterKernel(shim.kernelName, backendName);
      tf.registerKernel(shim);
    }
  }
}
