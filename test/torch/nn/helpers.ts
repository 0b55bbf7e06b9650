import { expect } from "vitest";
import { tf } from "lightning-ts/torch";

/** Shared test utilities for test/nn and test/functional (not a test file). */

export function vals(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** max |a - b| / max |b| (a norm-wise relative error, robust to zeros in b). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-12);
}

/** Expects tensor `t` to have shape `shape` and values close to `expected` (abs + rel tol). */
export function expectClose(t: tf.Tensor | number[], expected: ArrayLike<number>, tol = 1e-5, shape?: number[]): void {
  if (shape && !Array.isArray(t)) expect(t.shape).toEqual(shape);
  const got = Array.isArray(t) ? t : vals(t);
  expect(got.length).toBe(expected.length);
  for (let i = 0; i < got.length; i++) {
    const e = expected[i];
    if (Number.isNaN(e)) {
      expect(got[i], `element ${i}`).toBeNaN();
      continue;
    }
    const ok = Math.abs(got[i] - e) <= tol * Math.max(1, Math.abs(e));
    if (!ok) expect(got[i], `element ${i}`).toBe(e);
  }
}

/**
 * Gradients of the scalar `f()` with respect to `params` two ways: our `loss.backward()`
 * (grads read from `param.grad`) and `tf.variableGrads(f, params)`. Asserts they agree to
 * `tol` relative error and returns ours.
 */
export function checkGrads(f: () => tf.Tensor, params: tf.Variable[], tol = 1e-5): tf.Tensor[] {
  for (const p of params) p.grad = null;
  const loss = f();
  loss.backward();
  const ours = params.map((p) => {
    expect(p.grad, `grad of ${p.name}`).not.toBeNull();
    return p.grad!;
  });
  const ref = tf.variableGrads(() => f() as tf.Scalar, params);
  expect(relErr([loss.dataSync()[0]], [ref.value.dataSync()[0]])).toBeLessThanOrEqual(tol);
  params.forEach((p, i) => {
    const r = ref.grads[p.name];
    expect(r, `reference grad of ${p.name}`).toBeDefined();
    expect(ours[i].shape).toEqual(p.shape);
    expect(relErr(vals(ours[i]), vals(r)), `grad of ${p.name}`).toBeLessThanOrEqual(tol);
  });
  return ours;
}

/** Deterministic values in [-1, 1] (no RNG, so tests never depend on a stream). */
export function spread(shape: number[], phase = 0, scale = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = scale * Math.sin(1.7 * i + 0.3 + phase);
  return tf.tensor(v, shape);
}

export function spreadVar(shape: number[], phase = 0, scale = 1): tf.Variable {
  const t = spread(shape, phase, scale);
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}

/** Row-major nested index helpers for flat arrays. */
export function strides(shape: number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/**
 * Naive NCHW convolution (PyTorch semantics) in plain JS: out[n, o, y, x] = b[o] +
 * sum_{c in group(o), i, j} in[n, c, y*sh - pt + i*dh, x*sw - pl + j*dw] * w[o, c - g0, i, j].
 */
export function naiveConv2d(
  x: number[],
  xs: number[],
  w: number[],
  ws: number[],
  b: number[] | null,
  opts: {
    stride?: [number, number];
    pads?: [number, number, number, number];
    dilation?: [number, number];
    groups?: number;
  } = {},
): { out: number[]; shape: number[] } {
  const [n, c, h, wd] = xs;
  const [o, cg, kh, kw] = ws;
  const [sh, sw] = opts.stride ?? [1, 1];
  const [pt, pb, pl, pr] = opts.pads ?? [0, 0, 0, 0];
  const [dh, dw] = opts.dilation ?? [1, 1];
  const groups = opts.groups ?? 1;
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((wd + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const opg = o / groups;
  const out = new Array(n * o * oh * ow).fill(0);
  for (let ni = 0; ni < n; ni++)
    for (let oi = 0; oi < o; oi++) {
      const g = Math.floor(oi / opg);
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++) {
          let s = b ? b[oi] : 0;
          for (let ci = 0; ci < cg; ci++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const iy = y * sh - pt + i * dh;
                const ix = xx * sw - pl + j * dw;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const cin = g * cg + ci;
                s += x[((ni * c + cin) * h + iy) * wd + ix] * w[((oi * cg + ci) * kh + i) * kw + j];
              }
          out[((ni * o + oi) * oh + y) * ow + xx] = s;
        }
    }
  return { out, shape: [n, o, oh, ow] };
}

/**
 * Switches to the pure-JS cpu backend unless the active backend registers all `kernels`
 * (WASM lacks some gradient kernels until the shims in src/torch/backends/kernels are wired
 * in). Returns the backend the test runs on.
 */
export async function backendWith(kernels: string[]): Promise<string> {
  const current = tf.getBackend();
  if (kernels.every((k) => tf.getKernel(k, current) != null)) return current;
  await tf.setBackend("cpu");
  return "cpu";
}

/**
 * Naive gradients of sum(conv(x, w, b) * r) for the naive convolution above: dx, dw, db.
 */
export function naiveConv2dGrads(
  x: number[],
  xs: number[],
  w: number[],
  ws: number[],
  r: number[],
  opts: {
    stride?: [number, number];
    pads?: [number, number, number, number];
    dilation?: [number, number];
    groups?: number;
  } = {},
): { dx: number[]; dw: number[]; db: number[] } {
  const [n, c, h, wd] = xs;
  const [o, cg, kh, kw] = ws;
  const [sh, sw] = opts.stride ?? [1, 1];
  const [pt, pb, pl, pr] = opts.pads ?? [0, 0, 0, 0];
  const [dh, dw] = opts.dilation ?? [1, 1];
  const groups = opts.groups ?? 1;
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((wd + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const opg = o / groups;
  const dx = new Array(x.length).fill(0);
  const dW = new Array(w.length).fill(0);
  const db = new Array(o).fill(0);
  for (let ni = 0; ni < n; ni++)
    for (let oi = 0; oi < o; oi++) {
      const g = Math.floor(oi / opg);
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++) {
          const rv = r[((ni * o + oi) * oh + y) * ow + xx];
          db[oi] += rv;
          for (let ci = 0; ci < cg; ci++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const iy = y * sh - pt + i * dh;
                const ix = xx * sw - pl + j * dw;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const xi = ((ni * c + g * cg + ci) * h + iy) * wd + ix;
                const wi = ((oi * cg + ci) * kh + i) * kw + j;
                dx[xi] += rv * w[wi];
                dW[wi] += rv * x[xi];
              }
        }
    }
  return { dx, dw: dW, db };
}
