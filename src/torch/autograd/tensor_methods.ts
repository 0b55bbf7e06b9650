import { tf } from "../tf.ts";
import { backward, type BackwardOptions } from "./backward.ts";
import { noGrad } from "./grad_mode.ts";
import { getGrad, setGrad } from "./grad_store.ts";
import { requiresGrad } from "./requires_grad.ts";
import { freedTensorError } from "./lifetime.ts";
import { checkMove, type DeviceLike } from "../device.ts";

/** PyTorch's tensor methods, added to every tfjs tensor. */
declare module "@tensorflow/tfjs-core/dist/tensor.js" {
  interface Tensor {
    /** Backpropagates from this scalar loss into every trainable variable's `grad`. */
    backward(options?: BackwardOptions): void;
    /** The same values, cut from the graph. */
    detach(): this;
    /** A device move; tensors live on the active backend, so this returns the tensor itself. */
    to(device: DeviceLike): this;
    cuda(index?: number): this;
    cpu(): this;
    /** The value of a one-element tensor as a number. */
    item(): number;
    /** Whether gradients flow through this tensor. */
    readonly requiresGrad: boolean;
  }
  interface Variable {
    /** Accumulated gradient, `null` until a backward reaches this variable. */
    grad: Tensor | null;
  }
}

let installed = false;

export function installTensorMethods(): void {
  if (installed) return;
  installed = true;
  const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
  Object.assign(proto, {
    backward(this: tf.Tensor, options?: BackwardOptions) {
      backward(this, options);
    },
    detach(this: tf.Tensor) {
      return noGrad(() => tf.clone(this));
    },
    to(this: tf.Tensor, device: DeviceLike) {
      checkMove(device);
      return this;
    },
    cuda(this: tf.Tensor, index?: number) {
      checkMove(index === undefined ? "cuda" : `cuda:${index}`);
      return this;
    },
    cpu(this: tf.Tensor) {
      return this;
    },
    item(this: tf.Tensor) {
      if (this.isDisposed) throw freedTensorError(this);
      if (this.size !== 1) throw new Error(`item(): a tensor with ${this.size} elements cannot be converted to a number`);
      return this.dataSync()[0];
    },
  });
  Object.defineProperty(proto, "requiresGrad", {
    get(this: tf.Tensor) {
      return requiresGrad(this);
    },
    configurable: true,
  });
  Object.defineProperty(tf.Variable.prototype, "grad", {
    get(this: tf.Variable) {
      return getGrad(this);
    },
    set(this: tf.Variable, g: tf.Tensor | null) {
      setGrad(this, g);
    },
    configurable: true,
  });
}
