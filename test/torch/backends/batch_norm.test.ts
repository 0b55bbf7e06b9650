/**
 * Batch normalisation's kernels (batch_norm.ts): forward and the three gradients against a
 * float64 evaluation of PyTorch's formulas, WASM against the pure-JS backend bit for bit, and
 * nn.BatchNorm1d/2d through them against tfjs's op chain (the kernels unregistered): outputs,
 * gradients (our tape and `tf.variableGrads`) and running statistics.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../../src/torch/backends/select";
import {
  BATCH_NORM,
  BATCH_NORM_GRAD,
  BATCH_NORM_PARAM_GRAD,
  BATCH_NORM_KERNELS,
} from "../../../src/torch/backends/kernels/batch_norm";
import { withRounding } from "../../../src/torch/amp/kernel_rounding";
import { F, nn, manualSeed } from "../../../src/torch/index";
import { tf } from "./parity";
import { countCalls, expectEachWithin, withoutKernels } from "./kernel_swaps";
import { expectStepsLeaveNothing } from "./memory_check";

type Backend = "wasm" | "cpu";

beforeAll(async () => {
  await selectBackend("wasm");
});

/** Channel c's element indices in [N, C, S]. */
function channel(N: number, C: number, S: number, c: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < N; i++) for (let s = 0; s < S; s++) idx.push((i * C + c) * S + s);
  return idx;
}

/** Values with a per-channel offset far from 0 (where a float32 one-pass variance loses digits). */
function data(shape: number[], salt: number): Float32Array {
  const C = shape[1]!;
  const S = shape.slice(2).reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, k) => {
    const c = Math.floor(k / S) % C;
    return 40 * (c - 1) + 3 * Math.sin(k * 0.731 + salt) + Math.cos(k * 0.117 * salt);
  });
}

/**
 * The forward kernel and the three gradient kernels on WASM, then on the pure-JS backend: for
 * each, y, mean, invstd, variance, dx, dweight, dbias.
 */
async function kernelsOnEachBackend(
  x: Float32Array,
  dy: Float32Array,
  shape: number[],
  w: number[] | Float32Array,
  b: Float32Array | null,
  eps: number,
): Promise<number[][][]> {
  const results: number[][][] = [];
  for (const backend of ["wasm", "cpu"] as const) {
    await selectBackend(backend);
    const [xt, dyt, wt] = [tf.tensor(x, shape), tf.tensor(dy, shape), tf.tensor1d(w)];
    const inputs: Record<string, tf.Tensor> = { x: xt, weight: wt };
    if (b !== null) inputs.bias = tf.tensor1d(b);
    const outs = tf.engine().runKernel(BATCH_NORM, inputs, { eps } as never) as tf.Tensor[];
    const saved = { dy: dyt, x: xt, mean: outs[1]!, invstd: outs[2]! };
    const dx = tf.engine().runKernel(BATCH_NORM_GRAD, { ...saved, weight: wt }) as tf.Tensor;
    const dw = tf.engine().runKernel(BATCH_NORM_PARAM_GRAD, saved, { param: "weight" } as never) as tf.Tensor;
    const db = tf.engine().runKernel(BATCH_NORM_PARAM_GRAD, saved, { param: "bias" } as never) as tf.Tensor;
    results.push([...outs, dx, dw, db].map((t) => Array.from(t.dataSync())));
    tf.dispose([dyt, ...Object.values(inputs), ...outs, dx, dw, db]);
  }
  return results;
}

describe("batch-norm kernels against PyTorch's formulas in float64", () => {
  const shapes = [
    [4, 3],
    [2, 3, 5],
    [3, 2, 4, 5],
    [2, 3, 3, 7], // runs of 21: SIMD (from 16) with a tail
  ];
  for (const shape of shapes) {
    it(`[${shape}]: y, dx, dweight, dbias within float32 rounding of float64; WASM gives the pure-JS backend's bits`, async () => {
      const [N, C] = shape as [number, number];
      const S = shape.slice(2).reduce((a, b) => a * b, 1);
      const x = data(shape, 1);
      const dy = data(shape, 2).map((v) => v / 40);
      const w = Float32Array.from({ length: C }, (_, c) => 0.5 + c);
      const b = Float32Array.from({ length: C }, (_, c) => c - 1);
      const eps = 1e-5;
      const results = await kernelsOnEachBackend(x, dy, shape, w, b, eps);
      expect(results[0]).toEqual(results[1]);

      const [y, mean, invstd, variance, dx, dw, db] = results[0]!;
      const n = N * S;
      const close = (got: number, want: number, scale: number, what: string) =>
        expect(Math.abs(got - want), what).toBeLessThanOrEqual(2 ** -23 * scale);
      for (let c = 0; c < C; c++) {
        const idx = channel(N, C, S, c);
        // PyTorch's CPU kernel: statistics in float64, saved as float32, and the saved values used
        // to normalise and in the backward.
        const exactMean = idx.reduce((s, k) => s + x[k]!, 0) / n;
        const v = idx.reduce((s, k) => s + (x[k]! - exactMean) ** 2, 0) / n;
        const exactInvstd = 1 / Math.sqrt(v + eps);
        close(mean![c]!, exactMean, Math.abs(exactMean), `mean[${c}]`);
        close(variance![c]!, v, v, `var[${c}]`);
        close(invstd![c]!, exactInvstd, exactInvstd, `invstd[${c}]`);
        const m = Math.fround(exactMean);
        const is = Math.fround(exactInvstd);
        const sumDy = idx.reduce((s, k) => s + dy[k]!, 0);
        const dot = idx.reduce((s, k) => s + (x[k]! - m) * dy[k]!, 0);
        close(db![c]!, sumDy, Math.abs(sumDy), `dbias[${c}]`);
        close(dw![c]!, dot * is, Math.abs(dot * is), `dweight[${c}]`);
        for (const k of idx) {
          const xhat = (x[k]! - m) * is;
          const want = xhat * w[c]! + b[c]!;
          close(y![k]!, want, Math.abs(want), `y[${k}]`);
          const g = (dy[k]! - sumDy / n - xhat * ((dot * is) / n)) * is * w[c]!;
          close(dx![k]!, g, Math.abs(g), `dx[${k}]`);
        }
      }
    });
  }
});

describe("batch-norm kernels on values of every magnitude", () => {
  it("WASM's SIMD passes give the pure-JS backend's bits where float64 sums round (the same grouping of terms)", async () => {
    const shape = [3, 2, 6, 19]; // runs of 114: SIMD groups and a tail
    const size = shape.reduce((a, b) => a * b, 1);
    const x = Float32Array.from({ length: size }, (_, k) => Math.sin(k * 1.3) * 10 ** ((k * 7) % 17) * 1e-8);
    const dy = Float32Array.from({ length: size }, (_, k) => Math.cos(k * 0.7) * 10 ** ((k * 5) % 13) * 1e-6);
    const results = await kernelsOnEachBackend(x, dy, shape, [0.75, -2], null, 1e-5);
    expect(results[0]).toEqual(results[1]);
  });
});

describe("nn.BatchNorm through the kernels against tfjs's op chain", () => {
  const layers: Array<[string, () => nn.Module, number[]]> = [
    ["BatchNorm2d", () => new nn.BatchNorm2d(3), [4, 3, 5, 6]],
    ["BatchNorm1d on [N, C]", () => new nn.BatchNorm1d(5), [8, 5]],
    ["BatchNorm1d on [N, C, L], no affine", () => new nn.BatchNorm1d(3, { affine: false }), [4, 3, 7]],
    ["BatchNorm2d, cumulative average (momentum null)", () => new nn.BatchNorm2d(2, { momentum: null }), [3, 2, 4, 4]],
    ["BatchNorm2d without running statistics", () => new nn.BatchNorm2d(2, { trackRunningStats: false }), [3, 2, 4, 4]],
  ];

  const run = (make: () => nn.Module, shape: number[]) => {
    manualSeed(0);
    const m = make();
    const ps = m.parameters();
    if (ps.length > 0)
      tf.tidy(() => ps.forEach((p, i) => p.assign(tf.randomNormal(p.shape, 1, 0.5, "float32", 10 + i))));
    const out: number[][] = [];
    for (let step = 0; step < 3; step++) {
      // (a variable, so that a layer without parameters has a gradient to compare too)
      const x = tf.variable(tf.mul(tf.randomNormal(shape, 2, 3, "float32", step), tf.scalar(1 + step)));
      const y = m.forward(x) as tf.Tensor;
      const loss = tf.sum(tf.mul(y, tf.cos(tf.range(0, y.size).reshape(y.shape))));
      (loss as unknown as { backward(): void }).backward();
      out.push(
        Array.from(y.dataSync()),
        ...[x, ...ps].map((p) => Array.from((p as unknown as { grad: tf.Tensor }).grad.dataSync())),
      );
      m.zeroGrad();
      tf.dispose([x, y, loss, (x as unknown as { grad: tf.Tensor }).grad]);
    }
    out.push(...m.buffers().map((b) => Array.from(b.dataSync())));
    m.eval();
    const x = tf.randomNormal(shape, 0, 1, "float32", 99);
    const y = m.forward(x) as tf.Tensor;
    out.push(Array.from(y.dataSync()));
    tf.dispose([x, y, ...ps, ...m.buffers()]);
    return out;
  };

  for (const backend of ["wasm", "cpu"] as const) {
    for (const [name, make, shape] of layers) {
      it(`${backend}: ${name} — 3 training steps (outputs, gradients), running statistics, then eval, within float32 noise`, async () => {
        await selectBackend(backend);
        let fused: number[][] = [];
        // (3 training steps, and the evaluation too without running statistics)
        expect(countCalls(BATCH_NORM, backend, () => (fused = run(make, shape)))).toBe(
          name.includes("without running") ? 4 : 3,
        );
        const ops = withoutKernels(BATCH_NORM_KERNELS, backend, () => run(make, shape));
        expectEachWithin(fused, ops, 2e-5, 1e-3);
      });
    }
  }

  it("tf.variableGrads through F.batchNorm gives the tape's gradients", async () => {
    await selectBackend("wasm");
    const x = tf.tensor(data([3, 2, 4, 4], 3), [3, 2, 4, 4]);
    const w = tf.variable(tf.tensor1d([1.5, -0.5]));
    const b = tf.variable(tf.tensor1d([0.25, 2]));
    const xv = tf.variable(x);
    const f = () => tf.sum(tf.square(F.batchNorm(xv, null, null, { weight: w, bias: b, training: true }))) as tf.Scalar;
    const { grads } = tf.variableGrads(f, [xv, w, b]);
    const loss = f();
    (loss as unknown as { backward(): void }).backward();
    for (const v of [xv, w, b]) {
      const ours = Array.from((v as unknown as { grad: tf.Tensor }).grad.dataSync());
      expect(ours).toEqual(Array.from(grads[v.name]!.dataSync()));
    }
    tf.dispose([x, w, b, xv, loss, ...Object.values(grads)]);
  });

  it("16-bit emulation that rounds every op's output keeps the op chain", async () => {
    await selectBackend("wasm");
    const x = tf.tensor(data([3, 2, 4, 4], 4), [3, 2, 4, 4]);
    const mode = { format: "float16" as const, scope: "all" as const };
    const go = () => withRounding(mode, () => Array.from(F.batchNorm(x, null, null, { training: true }).dataSync()));
    let rounded: number[] = [];
    expect(countCalls(BATCH_NORM, "wasm", () => (rounded = go()))).toBe(0);
    expect(rounded).toEqual(withoutKernels(BATCH_NORM_KERNELS, "wasm", go));
    x.dispose();
  });

  it("repeated training steps leave no tensors or backend data behind", async () => {
    for (const backend of ["wasm", "cpu"] as const) {
      await selectBackend(backend);
      const m = new nn.BatchNorm2d(3);
      const x = tf.randomNormal([4, 3, 5, 5]);
      const step = () => {
        const y = m.forward(x) as tf.Tensor;
        const loss = tf.sum(y);
        (loss as unknown as { backward(): void }).backward();
        m.zeroGrad();
        tf.dispose([y, loss]);
      };
      expectStepsLeaveNothing(step);
    }
  });
});
