/**
 * Layer normalisation's kernels (layer_norm.ts): forward and the three gradients against a
 * float64 evaluation of the formulas (with the saved float32 mean and invstd, as the kernel
 * uses them), WASM against the pure-JS backend bit for bit, and nn.LayerNorm through them
 * against tfjs's op chain (the kernels unregistered): outputs and gradients, our tape and
 * `tf.variableGrads`.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../../src/torch/backends/select";
import {
  LAYER_NORM,
  LAYER_NORM_GRAD,
  LAYER_NORM_PARAM_GRAD,
  LAYER_NORM_KERNELS,
} from "../../../src/torch/backends/kernels/layer_norm";
import { withRounding } from "../../../src/torch/amp/kernel_rounding";
import { F, nn, manualSeed } from "../../../src/torch/index";
import { tf } from "./parity";
import { countCalls, expectEachWithin, withoutKernels } from "./kernel_swaps";
import { expectStepsLeaveNothing } from "./memory_check";

beforeAll(async () => {
  await selectBackend("wasm");
});

/** Rows with offsets far from 0 and, every few rows, values of very different magnitudes. */
function data(n: number, salt: number): Float32Array {
  return Float32Array.from(
    { length: n },
    (_, k) => 25 * Math.sin(k * 0.013 + salt) + 2 * Math.cos(k * 0.917 * salt) * 10 ** (((k * 3) % 5) - 2),
  );
}

describe("layer-norm kernels against the formulas in float64", () => {
  // [rows, normalizedShape]: D = 6 (no whole group of four), 20, 21 and 35 (SIMD groups, with tails), [4, 7]
  const cases: Array<[number, number[]]> = [
    [5, [6]],
    [4, [20]],
    [3, [21]],
    [6, [35]],
    [3, [4, 7]],
  ];
  for (const [R, normalized] of cases) {
    it(`${R} rows of [${normalized}]: y, dx, dweight, dbias within float32 rounding of float64; WASM gives the pure-JS backend's bits`, async () => {
      const D = normalized.reduce((a, b) => a * b, 1);
      const shape = [R, ...normalized];
      const x = data(R * D, 1);
      const dy = data(R * D, 2).map((v) => v / 25);
      const w = Float32Array.from({ length: D }, (_, j) => 0.5 + Math.sin(j));
      const b = Float32Array.from({ length: D }, (_, j) => Math.cos(j * 2));
      const eps = 1e-5;
      const results: number[][][] = [];
      for (const backend of ["wasm", "cpu"] as const) {
        await selectBackend(backend);
        const [xt, dyt, wt, bt] = [
          tf.tensor(x, shape),
          tf.tensor(dy, shape),
          tf.tensor(w, normalized),
          tf.tensor(b, normalized),
        ];
        const [y, mean, invstd] = tf
          .engine()
          .runKernel(LAYER_NORM, { x: xt, weight: wt, bias: bt }, { eps } as never) as tf.Tensor[];
        const ins = { dy: dyt, x: xt, mean: mean!, invstd: invstd!, weight: wt };
        const dx = tf.engine().runKernel(LAYER_NORM_GRAD, ins) as tf.Tensor;
        const dw = tf.engine().runKernel(LAYER_NORM_PARAM_GRAD, ins, { param: "weight" } as never) as tf.Tensor;
        const db = tf.engine().runKernel(LAYER_NORM_PARAM_GRAD, ins, { param: "bias" } as never) as tf.Tensor;
        expect(dw.shape).toEqual(normalized);
        results.push([y!, mean!, invstd!, dx, dw, db].map((t) => Array.from(t.dataSync())));
        tf.dispose([xt, dyt, wt, bt, y!, mean!, invstd!, dx, dw, db]);
      }
      expect(results[0]).toEqual(results[1]);

      const [y, mean, invstd, dx, dw, db] = results[0]!;
      const close = (got: number, want: number, scale: number, what: string) =>
        expect(Math.abs(got - want), what).toBeLessThanOrEqual(2 ** -23 * scale);
      const wantDw = new Array<number>(D).fill(0);
      const wantDb = new Array<number>(D).fill(0);
      for (let r = 0; r < R; r++) {
        const row = Array.from(x.subarray(r * D, (r + 1) * D));
        const g = Array.from(dy.subarray(r * D, (r + 1) * D));
        const exactMean = row.reduce((s, v) => s + v, 0) / D;
        const exactInvstd = 1 / Math.sqrt(row.reduce((s, v) => s + (v - exactMean) ** 2, 0) / D + eps);
        close(mean![r]!, exactMean, Math.abs(exactMean), `mean[${r}]`);
        close(invstd![r]!, exactInvstd, exactInvstd, `invstd[${r}]`);
        const m = Math.fround(exactMean);
        const is = Math.fround(exactInvstd);
        const a = g.reduce((s, v, j) => s + v * w[j]!, 0) / D;
        const k = (g.reduce((s, v, j) => s + (row[j]! - m) * v * w[j]!, 0) * is * is) / D;
        for (let j = 0; j < D; j++) {
          const want = (row[j]! - m) * is * w[j]! + b[j]!;
          close(y![r * D + j]!, want, Math.abs(want), `y[${r}, ${j}]`);
          const want2 = (g[j]! * w[j]! - a - (row[j]! - m) * k) * is;
          close(dx![r * D + j]!, want2, Math.abs(want2), `dx[${r}, ${j}]`);
          wantDw[j] += g[j]! * (row[j]! - m) * is;
          wantDb[j] += g[j]!;
        }
      }
      for (let j = 0; j < D; j++) {
        close(dw![j]!, wantDw[j]!, Math.abs(wantDw[j]!), `dweight[${j}]`);
        close(db![j]!, wantDb[j]!, Math.abs(wantDb[j]!), `dbias[${j}]`);
      }
    });
  }
});

describe("nn.LayerNorm through the kernels against tfjs's op chain", () => {
  const layers: Array<[string, () => nn.Module, number[]]> = [
    ["LayerNorm(32) on [4, 8, 32]", () => new nn.LayerNorm(32), [4, 8, 32]],
    ["LayerNorm(6) on [5, 6]", () => new nn.LayerNorm(6), [5, 6]],
    ["LayerNorm([3, 7]) without affine", () => new nn.LayerNorm([3, 7], { elementwiseAffine: false }), [2, 4, 3, 7]],
  ];

  const run = (make: () => nn.Module, shape: number[]) => {
    manualSeed(0);
    const m = make();
    const ps = m.parameters();
    tf.tidy(() => ps.forEach((p, i) => p.assign(tf.randomNormal(p.shape, 1, 0.5, "float32", 10 + i))));
    const x = tf.variable(tf.randomNormal(shape, 3, 2, "float32", 1));
    const y = m.forward(x) as tf.Tensor;
    const loss = tf.sum(tf.mul(y, tf.sin(tf.range(0, y.size).reshape(y.shape))));
    (loss as unknown as { backward(): void }).backward();
    const grads = [x, ...ps].map((p) => (p as unknown as { grad: tf.Tensor }).grad);
    const out = [Array.from(y.dataSync()), ...grads.map((g) => Array.from(g.dataSync()))];
    tf.dispose([x, y, loss, ...grads, ...ps]);
    return out;
  };

  for (const backend of ["wasm", "cpu"] as const) {
    for (const [name, make, shape] of layers) {
      it(`${backend}: ${name} — output and gradients within float32 noise`, async () => {
        await selectBackend(backend);
        let fused: number[][] = [];
        expect(countCalls(LAYER_NORM, backend, () => (fused = run(make, shape)))).toBe(1);
        const ops = withoutKernels(LAYER_NORM_KERNELS, backend, () => run(make, shape));
        expectEachWithin(fused, ops, 1e-5);
      });
    }
  }

  it("tf.variableGrads through F.layerNorm gives the tape's gradients", async () => {
    await selectBackend("wasm");
    const xv = tf.variable(tf.tensor(data(3 * 24, 5), [3, 24]));
    const w = tf.variable(tf.tensor1d(Array.from({ length: 24 }, (_, j) => 1 + j / 10)));
    const b = tf.variable(tf.tensor1d(Array.from({ length: 24 }, (_, j) => j / 5)));
    const f = () => tf.sum(tf.square(F.layerNorm(xv, 24, { weight: w, bias: b }))) as tf.Scalar;
    const { grads } = tf.variableGrads(f, [xv, w, b]);
    const loss = f();
    (loss as unknown as { backward(): void }).backward();
    for (const v of [xv, w, b]) {
      expect(Array.from((v as unknown as { grad: tf.Tensor }).grad.dataSync())).toEqual(
        Array.from(grads[v.name]!.dataSync()),
      );
    }
    tf.dispose([xv, w, b, loss, ...Object.values(grads)]);
  });

  it("16-bit emulation that rounds every op's output keeps the op chain", async () => {
    await selectBackend("wasm");
    const x = tf.tensor(data(4 * 20, 4), [4, 20]);
    const mode = { format: "bfloat16" as const, scope: "all" as const };
    const go = () => withRounding(mode, () => Array.from(F.layerNorm(x, 20).dataSync()));
    let rounded: number[] = [];
    expect(countCalls(LAYER_NORM, "wasm", () => (rounded = go()))).toBe(0);
    expect(rounded).toEqual(withoutKernels(LAYER_NORM_KERNELS, "wasm", go));
    x.dispose();
  });

  it("repeated training steps leave no tensors or backend data behind", async () => {
    for (const backend of ["wasm", "cpu"] as const) {
      await selectBackend(backend);
      const m = new nn.LayerNorm(20);
      const x = tf.randomNormal([6, 20]);
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
