import { tf } from "../tf.ts";
import { Optimizer, withDefaults, type ParamGroup, type ParamsInput } from "./optimizer.ts";
import { fusedAdamStep } from "./fused/adam_step.ts";

export type AdamOptions = {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
  /** AdamW's decay `p ← p·(1 − lr·weightDecay)` instead of adding `weightDecay·p` to the grad. */
  decoupledWeightDecay?: boolean;
};

export type AdamHyperparameters = {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
  decoupledWeightDecay: boolean;
};

/**
 * `torch.optim.Adam`, PyTorch's algorithm and operation order:
 *
 *   t += 1
 *   g = ±grad (+ weightDecay·p, or p ← p·(1 − lr·weightDecay) when decoupled)
 *   m = m + (1 − β1)·(g − m)          (torch's lerp)
 *   v = β2·v + (1 − β2)·g²
 *   v̂max = max(v̂max, v)              (amsgrad; used in place of v below)
 *   stepSize = lr / (1 − β1^t)
 *   denom = √v / √(1 − β2^t) + eps
 *   p = p − stepSize·m / denom
 *
 * β1 is read every step, so OneCycleLR's cycling of `betas[0]` takes effect as in PyTorch.
 * On WASM and the pure-JS backend the whole update is one kernel (fused/adam_step.ts) doing the
 * same float32 operations in the same order; elsewhere, the chain of tfjs ops below.
 */
export class Adam extends Optimizer<AdamHyperparameters> {
  protected override readonly paramShapedStateKeys = ["expAvg", "expAvgSq", "maxExpAvgSq"];

  constructor(params: ParamsInput<AdamHyperparameters>, options: AdamOptions = {}) {
    super(params, adamDefaults(options, { weightDecay: 0, decoupledWeightDecay: false }));
  }

  protected override updateGroup(group: ParamGroup<AdamHyperparameters>): void {
    const { lr, eps, weightDecay, amsgrad, maximize, decoupledWeightDecay } = group;
    const [beta1, beta2] = group.betas;
    for (const [p, grad] of this.paramsWithGrad(group)) {
      const state = this.stateFor(p);
      if (state.step === undefined) {
        state.step = 0;
        state.expAvg = this.stateVariable(p);
        state.expAvgSq = this.stateVariable(p);
      }
      if (amsgrad && state.maxExpAvgSq === undefined) state.maxExpAvgSq = this.stateVariable(p);
      const expAvg = state.expAvg as tf.Variable;
      const expAvgSq = state.expAvgSq as tf.Variable;
      const step = (state.step as number) + 1;
      state.step = step;

      const biasCorrection1 = 1 - beta1 ** step;
      const biasCorrection2 = 1 - beta2 ** step;
      const fused = fusedAdamStep(p, grad, expAvg, expAvgSq, amsgrad ? (state.maxExpAvgSq as tf.Variable) : null, {
        c1: 1 - beta1,
        b2: beta2,
        c2: 1 - beta2,
        bc2s: Math.sqrt(biasCorrection2),
        eps,
        negStep: -(lr / biasCorrection1),
        wdMode: weightDecay === 0 ? 0 : decoupledWeightDecay ? 2 : 1,
        wd: decoupledWeightDecay ? 1 - lr * weightDecay : weightDecay,
        maximize,
      });
      if (fused !== null) {
        p.assign(fused[0]!);
        expAvg.assign(fused[1]!);
        expAvgSq.assign(fused[2]!);
        if (amsgrad) (state.maxExpAvgSq as tf.Variable).assign(fused[3]!);
        continue;
      }

      let g = maximize ? tf.neg(grad) : grad;
      if (weightDecay !== 0) {
        if (decoupledWeightDecay) p.assign(tf.mul(p, 1 - lr * weightDecay));
        else g = tf.add(g, tf.mul(p, weightDecay));
      }
      expAvg.assign(tf.add(expAvg, tf.mul(tf.sub(g, expAvg), 1 - beta1)));
      expAvgSq.assign(tf.add(tf.mul(expAvgSq, beta2), tf.mul(tf.mul(g, g), 1 - beta2)));

      const stepSize = lr / biasCorrection1;
      const biasCorrection2Sqrt = Math.sqrt(biasCorrection2);
      let second: tf.Tensor = expAvgSq;
      if (amsgrad) {
        const maxSq = state.maxExpAvgSq as tf.Variable;
        maxSq.assign(tf.maximum(maxSq, expAvgSq));
        second = maxSq;
      }
      const denom = tf.add(tf.div(tf.sqrt(second), biasCorrection2Sqrt), eps);
      p.assign(tf.add(p, tf.mul(tf.div(expAvg, denom), -stepSize)));
    }
  }
}

/** Adam's defaults and PyTorch's argument checks; `base` differs between Adam and AdamW. */
export function adamDefaults(
  options: AdamOptions,
  base: { weightDecay: number; decoupledWeightDecay: boolean },
): AdamHyperparameters {
  const d = withDefaults<AdamHyperparameters>(
    { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, amsgrad: false, maximize: false, ...base },
    options as Partial<AdamHyperparameters>,
  );
  if (!Array.isArray(d.betas) || d.betas.length !== 2) {
    throw new Error(`betas must be a pair [beta1, beta2], got ${JSON.stringify(d.betas)}`);
  }
  d.betas = [d.betas[0], d.betas[1]];
  if (!(d.lr >= 0)) throw new Error(`Invalid learning rate: ${d.lr}`);
  if (!(d.eps >= 0)) throw new Error(`Invalid epsilon value: ${d.eps}`);
  if (!(d.betas[0] >= 0 && d.betas[0] < 1)) throw new Error(`Invalid beta parameter at index 0: ${d.betas[0]}`);
  if (!(d.betas[1] >= 0 && d.betas[1] < 1)) throw new Error(`Invalid beta parameter at index 1: ${d.betas[1]}`);
  if (!(d.weightDecay >= 0)) throw new Error(`Invalid weightDecay value: ${d.weightDecay}`);
  return d;
}
