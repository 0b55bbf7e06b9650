import { tf } from "../tf.ts";
import { Optimizer, withDefaults, type ParamGroup, type ParamsInput } from "./optimizer.ts";

export type AdagradOptions = {
  lr?: number;
  lrDecay?: number;
  weightDecay?: number;
  initialAccumulatorValue?: number;
  eps?: number;
  maximize?: boolean;
};

export type AdagradHyperparameters = Required<AdagradOptions>;

/**
 * `torch.optim.Adagrad`, PyTorch's algorithm (eps outside the square root):
 *
 *   t += 1
 *   g = ±grad + weightDecay·p
 *   clr = lr / (1 + (t − 1)·lrDecay)
 *   sum = sum + g²                  (sum starts at initialAccumulatorValue)
 *   p = p − clr·g / (√sum + eps)
 *
 * As in PyTorch the state (`step`, `sum`) exists from construction, so `stateDict()` holds
 * the accumulators before the first step.
 */
export class Adagrad extends Optimizer<AdagradHyperparameters> {
  protected override readonly paramShapedStateKeys = ["sum"];

  constructor(params: ParamsInput<AdagradHyperparameters>, options: AdagradOptions = {}) {
    super(params, adagradDefaults(options));
    for (const group of this.paramGroups) for (const p of group.params) this.initState(p, group);
  }

  private initState(p: tf.Variable, group: ParamGroup<AdagradHyperparameters>): void {
    const state = this.stateFor(p);
    if (state.sum !== undefined) return;
    state.step = 0;
    state.sum = tf.tidy(() => this.stateVariable(p, tf.fill(p.shape, group.initialAccumulatorValue, p.dtype)));
  }

  protected override updateGroup(group: ParamGroup<AdagradHyperparameters>): void {
    const { lr, lrDecay, weightDecay, eps, maximize } = group;
    for (const [p, grad] of this.paramsWithGrad(group)) {
      // Groups added after construction (addParamGroup) get their state on first use.
      this.initState(p, group);
      const state = this.state.get(p)!;
      const step = (state.step as number) + 1;
      state.step = step;
      const sum = state.sum as tf.Variable;

      let g = maximize ? tf.neg(grad) : grad;
      if (weightDecay !== 0) g = tf.add(g, tf.mul(p, weightDecay));
      const clr = lr / (1 + (step - 1) * lrDecay);
      sum.assign(tf.add(sum, tf.mul(g, g)));
      const std = tf.add(tf.sqrt(sum), eps);
      p.assign(tf.add(p, tf.mul(tf.div(g, std), -clr)));
    }
  }
}

function adagradDefaults(options: AdagradOptions): AdagradHyperparameters {
  const d = withDefaults<AdagradHyperparameters>(
    { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false },
    options,
  );
  if (!(d.lr >= 0)) throw new Error(`Invalid learning rate: ${d.lr}`);
  if (!(d.lrDecay >= 0)) throw new Error(`Invalid lrDecay value: ${d.lrDecay}`);
  if (!(d.weightDecay >= 0)) throw new Error(`Invalid weightDecay value: ${d.weightDecay}`);
  if (!(d.initialAccumulatorValue >= 0)) {
    throw new Error(`Invalid initialAccumulatorValue value: ${d.initialAccumulatorValue}`);
  }
  if (!(d.eps >= 0)) throw new Error(`Invalid epsilon value: ${d.eps}`);
  return d;
}
