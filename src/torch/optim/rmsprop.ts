import { tf } from "../tf.ts";
import { Optimizer, withDefaults, type ParamGroup, type ParamsInput } from "./optimizer.ts";

export type RMSpropOptions = {
  lr?: number;
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  centered?: boolean;
  maximize?: boolean;
};

export type RMSpropHyperparameters = Required<RMSpropOptions>;

/**
 * `torch.optim.RMSprop`, PyTorch's algorithm (eps is added outside the square root):
 *
 *   g = ±grad + weightDecay·p
 *   v = α·v + (1 − α)·g²
 *   centered:  ḡ = ḡ + (1 − α)·(g − ḡ);  avg = √(v − ḡ²) + eps
 *   otherwise: avg = √v + eps
 *   momentum > 0: b = momentum·b + g / avg;  p = p − lr·b
 *   otherwise:    p = p − lr·g / avg
 */
export class RMSprop extends Optimizer<RMSpropHyperparameters> {
  protected override readonly paramShapedStateKeys = ["squareAvg", "momentumBuffer", "gradAvg"];

  constructor(params: ParamsInput<RMSpropHyperparameters>, options: RMSpropOptions = {}) {
    super(params, rmspropDefaults(options));
  }

  protected override updateGroup(group: ParamGroup<RMSpropHyperparameters>): void {
    const { lr, alpha, eps, weightDecay, momentum, centered, maximize } = group;
    for (const [p, grad] of this.paramsWithGrad(group)) {
      const state = this.stateFor(p);
      if (state.step === undefined) {
        state.step = 0;
        state.squareAvg = this.stateVariable(p);
      }
      // Created on demand too, so a scheduler (OneCycleLR) turning momentum on later works.
      if (momentum > 0 && state.momentumBuffer === undefined) state.momentumBuffer = this.stateVariable(p);
      if (centered && state.gradAvg === undefined) state.gradAvg = this.stateVariable(p);
      state.step = (state.step as number) + 1;

      let g = maximize ? tf.neg(grad) : grad;
      if (weightDecay !== 0) g = tf.add(g, tf.mul(p, weightDecay));
      const squareAvg = state.squareAvg as tf.Variable;
      squareAvg.assign(tf.add(tf.mul(squareAvg, alpha), tf.mul(tf.mul(g, g), 1 - alpha)));

      let avg: tf.Tensor;
      if (centered) {
        const gradAvg = state.gradAvg as tf.Variable;
        gradAvg.assign(tf.add(gradAvg, tf.mul(tf.sub(g, gradAvg), 1 - alpha)));
        avg = tf.sqrt(tf.sub(squareAvg, tf.mul(gradAvg, gradAvg)));
      } else {
        avg = tf.sqrt(squareAvg);
      }
      avg = tf.add(avg, eps);

      if (momentum > 0) {
        const buf = state.momentumBuffer as tf.Variable;
        buf.assign(tf.add(tf.mul(buf, momentum), tf.div(g, avg)));
        p.assign(tf.add(p, tf.mul(buf, -lr)));
      } else {
        p.assign(tf.add(p, tf.mul(tf.div(g, avg), -lr)));
      }
    }
  }
}

function rmspropDefaults(options: RMSpropOptions): RMSpropHyperparameters {
  const d = withDefaults<RMSpropHyperparameters>(
    { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false },
    options,
  );
  if (!(d.lr >= 0)) throw new Error(`Invalid learning rate: ${d.lr}`);
  if (!(d.eps >= 0)) throw new Error(`Invalid epsilon value: ${d.eps}`);
  if (!(d.momentum >= 0)) throw new Error(`Invalid momentum value: ${d.momentum}`);
  if (!(d.weightDecay >= 0)) throw new Error(`Invalid weightDecay value: ${d.weightDecay}`);
  if (!(d.alpha >= 0)) throw new Error(`Invalid alpha value: ${d.alpha}`);
  return d;
}
