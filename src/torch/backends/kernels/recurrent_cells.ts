import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { KernelContext } from "./kernel_context.ts";
import { activationsSimd, sigmoidOfSum, tanhOf, tanhOfSum } from "./activations.ts";

/**
 * One time step of `nn.LSTM` / `nn.GRU` / `nn.RNN` (and their cells) as one kernel forward and
 * one backward, after the step's hidden-state product. With tfjs's ops a step was ~13 kernels
 * forward and ~25 backward (gather, add, split, sigmoid, tanh, mul, sub, square, concat), each
 * a few microseconds of dispatch over a few thousand elements: most of a small LSTM's step
 * (pytorch/examples' word_language_model: 35 steps × 2 layers) was spent between kernels.
 *
 * Every product, sum and difference is the op chain's, in its order, rounded to float32
 * (`Math.fround`); the sigmoid and tanh are activations.ts's (WebAssembly SIMD on WASM, the same
 * float32 operations in JavaScript elsewhere, within 2.5 ulps), so both backends give the same
 * bits. The backward uses only saved activations: its values are the op chain's exactly.
 *
 * The step's projection `p` comes whole ([T, B, G·H]) with the step index as an attribute, and
 * the output gradient `dy` whole ([T + 1 or 2, B, H]), so no gather runs per step.
 */
export const LSTM_CELL = "LightningTsLSTMCell";
export const LSTM_CELL_GRAD = "LightningTsLSTMCellGrad";
export const GRU_CELL = "LightningTsGRUCell";
export const GRU_CELL_GRAD = "LightningTsGRUCellGrad";
export const RNN_CELL = "LightningTsRNNCell";
export const RNN_CELL_GRAD = "LightningTsRNNCellGrad";
/** All six (tests and benchmarks swap them out to compare with the op chains). */
export const RECURRENT_CELL_KERNELS = [LSTM_CELL, LSTM_CELL_GRAD, GRU_CELL, GRU_CELL_GRAD, RNN_CELL, RNN_CELL_GRAD];

const f32 = Math.fround;

/** The row offset of step `t` in a [T, B, width] tensor. */
function stepOffset(attrs: NamedAttrMap, rows: number, width: number): number {
  return (attrs.t as number) * rows * width;
}

/**
 * LSTM: gates = p[t] + hw (i, f, g, o), c = f·cPrev + i·g, h = o·tanh(c). Outputs h, c, the
 * activated gates [B, 4H] and tanh(c), the last two for the backward.
 */
export function lstmCell(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo[] {
  const { p, hw, c } = inputs as { p: TensorInfo; hw: TensorInfo; c: TensorInfo };
  const [B, H] = c.shape as [number, number];
  const hOut = ctx.empty([B, H], "float32");
  const cOut = ctx.empty([B, H], "float32");
  const gatesOut = ctx.empty([B, 4 * H], "float32");
  const tcOut = ctx.empty([B, H], "float32");
  // Element arrays only now: on WASM the allocations above may have grown the heap.
  const ps = ctx.floats(p);
  const hws = ctx.floats(hw);
  const cs = ctx.floats(c);
  const hv = ctx.values(hOut) as Float32Array;
  const cv = ctx.values(cOut) as Float32Array;
  const gv = ctx.values(gatesOut) as Float32Array;
  const tcv = ctx.values(tcOut) as Float32Array;
  const simd = activationsSimd.exportsFor(ps, hws, cs, hv, cv, gv, tcv);
  const base = stepOffset(attrs, B, 4 * H);
  for (let b = 0; b < B; b++) {
    const row = b * 4 * H;
    sigmoidOfSum(ps, base + row, hws, row, gv, row, 2 * H, simd); // i, f
    tanhOfSum(ps, base + row + 2 * H, hws, row + 2 * H, gv, row + 2 * H, H, simd); // g
    sigmoidOfSum(ps, base + row + 3 * H, hws, row + 3 * H, gv, row + 3 * H, H, simd); // o
    for (let j = 0; j < H; j++) {
      const k = row + j;
      const e = b * H + j;
      cv[e] = f32(f32(gv[k + H]! * cs[e]!) + f32(gv[k]! * gv[k + 2 * H]!));
    }
  }
  tanhOf(cv, 0, tcv, 0, B * H, simd);
  for (let b = 0; b < B; b++) {
    const o = b * 4 * H + 3 * H;
    for (let j = 0; j < H; j++) hv[b * H + j] = f32(gv[o + j]! * tcv[b * H + j]!);
  }
  return [hOut, cOut, gatesOut, tcOut];
}

/**
 * The LSTM step's backward: dh (the later steps' share) + dy[t], the carried dc, the gates,
 * cPrev and tanh(c) → the gates' pre-activation gradient [B, 4H] and dcPrev.
 */
export function lstmCellGrad(
  ctx: KernelContext,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap,
): TensorInfo[] {
  const { dy, dh, dc, gates, cPrev, tc } = inputs as Record<"dy" | "dh" | "dc" | "gates" | "cPrev" | "tc", TensorInfo>;
  const [B, H] = dh.shape as [number, number];
  const dGOut = ctx.empty([B, 4 * H], "float32");
  const dcOut = ctx.empty([B, H], "float32");
  const dys = ctx.floats(dy);
  const dhs = ctx.floats(dh);
  const dcs = ctx.floats(dc);
  const gs = ctx.floats(gates);
  const cps = ctx.floats(cPrev);
  const tcs = ctx.floats(tc);
  const dG = ctx.values(dGOut) as Float32Array;
  const dcv = ctx.values(dcOut) as Float32Array;
  const base = stepOffset(attrs, B, H);
  for (let b = 0; b < B; b++) {
    const row = b * 4 * H;
    for (let j = 0; j < H; j++) {
      const e = b * H + j;
      const k = row + j;
      const i = gs[k]!;
      const f = gs[k + H]!;
      const g = gs[k + 2 * H]!;
      const o = gs[k + 3 * H]!;
      const t = tcs[e]!;
      const d = f32(dhs[e]! + dys[base + e]!);
      const dcT = f32(dcs[e]! + f32(f32(d * o) * f32(1 - f32(t * t))));
      dG[k] = f32(f32(dcT * g) * f32(i * f32(1 - i)));
      dG[k + H] = f32(f32(dcT * cps[e]!) * f32(f * f32(1 - f)));
      dG[k + 2 * H] = f32(f32(dcT * i) * f32(1 - f32(g * g)));
      dG[k + 3 * H] = f32(f32(d * t) * f32(o * f32(1 - o)));
      dcv[e] = f32(dcT * f);
    }
  }
  return [dGOut, dcOut];
}

/**
 * GRU: gh = hw (+ b_hh), r, z = σ(p[t]_rz + gh_rz), n = tanh(p[t]_n + r·gh_n),
 * h = n + z·(hPrev − n). Outputs h, r z n [B, 3H] and gh_n, the last two for the backward.
 */
export function gruCell(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo[] {
  const { p, hw, hPrev, b: bias } = inputs as { p: TensorInfo; hw: TensorInfo; hPrev: TensorInfo; b?: TensorInfo };
  const [B, H] = hPrev.shape as [number, number];
  const hOut = ctx.empty([B, H], "float32");
  const rznOut = ctx.empty([B, 3 * H], "float32");
  const ghnOut = ctx.empty([B, H], "float32");
  const ghBiased = bias === undefined ? null : ctx.empty([B, 3 * H], "float32");
  const rGhnOut = ctx.empty([B, H], "float32");
  const ps = ctx.floats(p);
  const hps = ctx.floats(hPrev);
  const hv = ctx.values(hOut) as Float32Array;
  const rzn = ctx.values(rznOut) as Float32Array;
  const ghn = ctx.values(ghnOut) as Float32Array;
  const rGhn = ctx.values(rGhnOut) as Float32Array;
  // gh = h W_hh^T + b_hh
  let gh = ctx.floats(hw);
  if (ghBiased !== null) {
    const bs = ctx.floats(bias!);
    const hws = gh;
    gh = ctx.values(ghBiased) as Float32Array;
    for (let k = 0; k < gh.length; k++) gh[k] = f32(hws[k]! + bs[k % (3 * H)]!);
  }
  const simd = activationsSimd.exportsFor(ps, gh, hps, hv, rzn, ghn, rGhn);
  const base = stepOffset(attrs, B, 3 * H);
  for (let b = 0; b < B; b++) {
    const row = b * 3 * H;
    sigmoidOfSum(ps, base + row, gh, row, rzn, row, 2 * H, simd); // r, z
    for (let j = 0; j < H; j++) {
      const ghN = gh[row + 2 * H + j]!;
      ghn[b * H + j] = ghN;
      rGhn[b * H + j] = f32(rzn[row + j]! * ghN);
    }
    tanhOfSum(ps, base + row + 2 * H, rGhn, b * H, rzn, row + 2 * H, H, simd); // n
    for (let j = 0; j < H; j++) {
      const z = rzn[row + H + j]!;
      const n = rzn[row + 2 * H + j]!;
      const e = b * H + j;
      hv[e] = f32(n + f32(z * f32(hps[e]! - n)));
    }
  }
  return [hOut, rznOut, ghnOut];
}

/**
 * The GRU step's backward: dh + dy[t], r z n, gh_n and hPrev → the input projection's gradient
 * [B, 3H] (r, z, n pre-activations), the hidden product's [B, 3H] (its n part times r), and
 * dh·z, hPrev's share that does not go through the product.
 */
export function gruCellGrad(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo[] {
  const { dy, dh, rzn, ghn, hPrev } = inputs as Record<"dy" | "dh" | "rzn" | "ghn" | "hPrev", TensorInfo>;
  const [B, H] = dh.shape as [number, number];
  const dPOut = ctx.empty([B, 3 * H], "float32");
  const dGOut = ctx.empty([B, 3 * H], "float32");
  const dhzOut = ctx.empty([B, H], "float32");
  const dys = ctx.floats(dy);
  const dhs = ctx.floats(dh);
  const gs = ctx.floats(rzn);
  const ghs = ctx.floats(ghn);
  const hps = ctx.floats(hPrev);
  const dP = ctx.values(dPOut) as Float32Array;
  const dG = ctx.values(dGOut) as Float32Array;
  const dhz = ctx.values(dhzOut) as Float32Array;
  const base = stepOffset(attrs, B, H);
  for (let b = 0; b < B; b++) {
    const row = b * 3 * H;
    for (let j = 0; j < H; j++) {
      const e = b * H + j;
      const k = row + j;
      const r = gs[k]!;
      const z = gs[k + H]!;
      const n = gs[k + 2 * H]!;
      const d = f32(dhs[e]! + dys[base + e]!);
      const dnPre = f32(f32(d * f32(1 - z)) * f32(1 - f32(n * n)));
      const drPre = f32(f32(dnPre * ghs[e]!) * f32(r * f32(1 - r)));
      const dzPre = f32(f32(d * f32(hps[e]! - n)) * f32(z * f32(1 - z)));
      dP[k] = drPre;
      dP[k + H] = dzPre;
      dP[k + 2 * H] = dnPre;
      dG[k] = drPre;
      dG[k + H] = dzPre;
      dG[k + 2 * H] = f32(dnPre * r);
      dhz[e] = f32(d * z);
    }
  }
  return [dPOut, dGOut, dhzOut];
}

/** Elman RNN: h = tanh(p[t] + hw), or relu (attribute `relu`). */
export function rnnCell(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const { p, hw } = inputs as { p: TensorInfo; hw: TensorInfo };
  const [B, H] = hw.shape as [number, number];
  const hOut = ctx.empty([B, H], "float32");
  const ps = ctx.floats(p);
  const hws = ctx.floats(hw);
  const hv = ctx.values(hOut) as Float32Array;
  const base = stepOffset(attrs, B, H);
  if (attrs.relu === true) {
    // tfjs's relu (a NaN passes, as in PyTorch)
    for (let e = 0; e < hv.length; e++) hv[e] = Math.max(0, f32(ps[base + e]! + hws[e]!));
  } else {
    tanhOfSum(ps, base, hws, 0, hv, 0, B * H, activationsSimd.exportsFor(ps, hws, hv));
  }
  return hOut;
}

/** The RNN step's backward: (dh + dy[t]) · (1 − h²) for tanh, · (h > 0) for relu. */
export function rnnCellGrad(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const { dy, dh, h } = inputs as { dy: TensorInfo; dh: TensorInfo; h: TensorInfo };
  const [B, H] = h.shape as [number, number];
  const out = ctx.empty([B, H], "float32");
  const dys = ctx.floats(dy);
  const dhs = ctx.floats(dh);
  const hs = ctx.floats(h);
  const dPre = ctx.values(out) as Float32Array;
  const base = stepOffset(attrs, B, H);
  const relu = attrs.relu === true;
  for (let e = 0; e < dPre.length; e++) {
    const d = f32(dhs[e]! + dys[base + e]!);
    const y = hs[e]!;
    dPre[e] = relu ? d * (y > 0 ? 1 : 0) : f32(d * f32(1 - f32(y * y)));
  }
  return out;
}
