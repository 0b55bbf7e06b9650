import { tf } from "../tf.ts";
import { Optimizer, withDefaults, type ParamGroup, type ParamsInput } from "./optimizer.ts";
import { fusedSgdStep } from "./fused/sgd_step.ts";

export type SGDOptions = {
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  maximize?: boolean;
};

export type SGDHyperparameters = Required<SGDOptions>;

/**
 * `torch.optim.SGD`, PyTorch's algorithm exactly (note: the first step seeds the momentum
 * buffer with the gradient itself, without dampening):
 *
 *   g = ±grad + weightDecay·p
 *   b = g                              (first step)
 *   b = momentum·b + (1 − dampening)·g (later steps)
 *   g = nesterov ? g + momentum·b : b  (when momentum ≠ 0)
 *   p = p − lr·g
 *
 * On WASM and the pure-JS backend each parameter's update is one kernel (fused/sgd_step.ts)
 * doing these float32 operations in this order: the same bits as the ops below.
 */
export class SGD extends Optimizer<SGDHyperparameters> {
  protected override readonly paramShapedStateKeys = ["momentumBuffer"];

  constructor(params: ParamsInput<SGDHyperparameters>, options: SGDOptions = {}) {
    super(params, sgdDefaults(options));
  }

  protected override updateGroup(group: ParamGroup<SGDHyperparameters>): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    for (const [p, grad] of this.paramsWithGrad(group)) {
      const state = momentum !== 0 ? this.stateFor(p) : null;
      const fused = fusedSgdStep(p, grad, (state?.momentumBuffer as tf.Variable | undefined) ?? null, group);
      if (fused !== null) {
        p.assign(fused[0]!);
        if (state !== null) {
          if (state.momentumBuffer === undefined) state.momentumBuffer = this.stateVariable(p, fused[1]!);
          else (state.momentumBuffer as tf.Variable).assign(fused[1]!);
        }
        continue;
      }
      let g = maximize ? tf.neg(grad) : grad;
      if (weightDecay !== 0) g = tf.add(g, tf.mul(p, weightDecay));
      if (momentum !== 0) {
        const state = this.stateFor(p);
        let buf = state.momentumBuffer as tf.Variable | undefined;
        if (buf === undefined) {
          buf = this.stateVariable(p, g);
          state.momentumBuffer = buf;
        } else {
          buf.assign(tf.add(tf.mul(buf, momentum), tf.mul(g, 1 - dampening)));
        }
        g = nesterov ? tf.add(g, tf.mul(buf, momentum)) : buf;
      }
      p.assign(tf.add(p, tf.mul(g, -lr)));
    }
  }
}

function sgdDefaults(options: SGDOptions): SGDHyperparameters {
  const d = withDefaults<SGDHyperparameters>(
    { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false },
    options,
  );
  if (!(d.lr >= 0)) throw new Error(`Invalid learning rate: ${d.lr}`);
  if (!(d.momentum >= 0)) throw new Error(`Invalid momentum value: ${d.momentum}`);
  if (!(d.weightDecay >= 0)) throw new Error(`Invalid weightDecay value: ${d.weightDecay}`);
  if (d.nesterov && (d.momentum <= 0 || d.dampening !== 0)) {
    throw new Error("Nesterov momentum requires a momentum and zero dampening");
  }
  return d;
}
