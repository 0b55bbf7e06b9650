import { tf } from "../tf.ts";
import { Optimizer, withDefaults, type ParamGroup, type ParamsInput } from "./optimizer.ts";
import { fusedAdadeltaStep } from "./fused/adadelta_step.ts";

export type AdadeltaOptions = {
  lr?: number;
  rho?: number;
  eps?: number;
  weightDecay?: number;
  maximize?: boolean;
};

export type AdadeltaHyperparameters = Required<AdadeltaOptions>;

/**
 * `torch.optim.Adadelta`, PyTorch's algorithm and operation order (eps is added inside both
 * square roots, and `lr` scales the final delta, default 1.0):
 *
 *   g = ±grad + weightDecay·p
 *   v = ρ·v + (1 − ρ)·g²
 *   Δ = √(u + eps) / √(v + eps) · g
 *   u = ρ·u + (1 − ρ)·Δ²
 *   p = p − lr·Δ
 *
 * On WASM and the pure-JS backend each parameter's update is one kernel (fused/adadelta_step.ts)
 * doing these float32 operations in this order: the same bits as the ops below.
 */
export class Adadelta extends Optimizer<AdadeltaHyperparameters> {
  protected override readonly paramShapedStateKeys = ["squareAvg", "accDelta"];

  constructor(params: ParamsInput<AdadeltaHyperparameters>, options: AdadeltaOptions = {}) {
    super(params, adadeltaDefaults(options));
  }

  protected override updateGroup(group: ParamGroup<AdadeltaHyperparameters>): void {
    const { lr, rho, eps, weightDecay, maximize } = group;
    for (const [p, grad] of this.paramsWithGrad(group)) {
      const state = this.stateFor(p);
      if (state.step === undefined) {
        state.step = 0;
        state.squareAvg = this.stateVariable(p);
        state.accDelta = this.stateVariable(p);
      }
      state.step = (state.step as number) + 1;
      const squareAvg = state.squareAvg as tf.Variable;
      const accDelta = state.accDelta as tf.Variable;

      const fused = fusedAdadeltaStep(p, grad, squareAvg, accDelta, group);
      if (fused !== null) {
        p.assign(fused[0]!);
        squareAvg.assign(fused[1]!);
        accDelta.assign(fused[2]!);
        continue;
      }
      let g = maximize ? tf.neg(grad) : grad;
      if (weightDecay !== 0) g = tf.add(g, tf.mul(p, weightDecay));
      squareAvg.assign(tf.add(tf.mul(squareAvg, rho), tf.mul(tf.mul(g, g), 1 - rho)));
      const std = tf.sqrt(tf.add(squareAvg, eps));
      const delta = tf.mul(tf.div(tf.sqrt(tf.add(accDelta, eps)), std), g);
      accDelta.assign(tf.add(tf.mul(accDelta, rho), tf.mul(tf.mul(delta, delta), 1 - rho)));
      p.assign(tf.add(p, tf.mul(delta, -lr)));
    }
  }
}

function adadeltaDefaults(options: AdadeltaOptions): AdadeltaHyperparameters {
  const d = withDefaults<AdadeltaHyperparameters>(
    { lr: 1.0, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false },
    options,
  );
  if (!(d.lr >= 0)) throw new Error(`Invalid learning rate: ${d.lr}`);
  if (!(d.rho >= 0 && d.rho <= 1)) throw new Error(`Invalid rho value: ${d.rho}`);
  if (!(d.eps >= 0)) throw new Error(`Invalid epsilon value: ${d.eps}`);
  if (!(d.weightDecay >= 0)) throw new Error(`Invalid weightDecay value: ${d.weightDecay}`);
  return d;
}
