import { tf } from "../tf.ts";
import { Module } from "./module.ts";

/**
 * `copy.deepcopy(module)`: a module of the same class whose parameters and buffers are new
 * variables with the same values (tied variables stay tied within the copy), submodules copied
 * the same way, other fields shared. `nn.TransformerEncoder` builds its layers with it, as
 * PyTorch's `_get_clones` does. Gradients are not copied.
 */
export function deepCopyModule<M extends Module>(module: M): M {
  return copyValue(module, new Map()) as M;
}

function copyValue(value: unknown, memo: Map<unknown, unknown>): unknown {
  if (value === null || typeof value !== "object") return value;
  const seen = memo.get(value);
  if (seen !== undefined) return seen;
  if (value instanceof tf.Variable) {
    // tf.variable shares the storage until either side is assigned; assignments replace it.
    const v = tf.variable(value, value.trainable);
    memo.set(value, v);
    return v;
  }
  if (value instanceof tf.Tensor) {
    const t = tf.keep(tf.clone(value));
    memo.set(value, t);
    return t;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    memo.set(value, out);
    for (const item of value) out.push(copyValue(item, memo));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set<unknown>();
    memo.set(value, out);
    for (const item of value) out.add(copyValue(item, memo));
    return out;
  }
  if (value instanceof Module) {
    const out = Object.create(Object.getPrototypeOf(value)) as Module;
    memo.set(value, out);
    for (const key of Reflect.ownKeys(value)) {
      const desc = Object.getOwnPropertyDescriptor(value, key)!;
      if ("value" in desc) desc.value = copyValue(desc.value, memo);
      Object.defineProperty(out, key, desc);
    }
    return out;
  }
  return value;
}
