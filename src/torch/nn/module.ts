import { tf } from "../tf.ts";
import { clearGrads } from "../autograd/grad_store.ts";
import { checkMove, type DeviceLike } from "../device.ts";

const BUFFERS = Symbol.for("lightning-ts.bufferNames");

/**
 * `nn.Module`. Submodules and parameters are found from the instance's own properties, in
 * definition order, the way PyTorch's `__setattr__` registers them: a `tf.Variable` property
 * is a parameter (a buffer when registered with `registerBuffer`), a `Module` property a
 * submodule, and arrays of either are walked with their index as the name (`layers.0.weight`).
 */
export class Module {
  /** True in training mode (dropout active, batch norm uses batch statistics). */
  training = true;
  private [BUFFERS]?: Set<string>;

  /** The computation. Subclasses override it with their own signature. */
  forward(..._args: unknown[]): unknown {
    throw new Error(`${this.constructor.name}.forward() is not implemented`);
  }

  /** Registers a non-trainable state tensor (running statistics) under `name`. */
  registerBuffer(name: string, value: tf.Tensor): tf.Variable {
    const v = value instanceof tf.Variable ? value : tf.variable(value, false);
    (this as unknown as Record<string, unknown>)[name] = v;
    (this[BUFFERS] ??= new Set()).add(name);
    return v;
  }

  *namedChildren(): Generator<[string, Module]> {
    for (const [key, value] of ownEntries(this)) {
      if (value instanceof Module) yield [key, value];
      else if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (value[i] instanceof Module) yield [`${key}.${i}`, value[i]];
      }
    }
  }

  children(): Module[] {
    return [...this.namedChildren()].map(([, m]) => m);
  }

  *namedModules(prefix = "", seen = new Set<Module>()): Generator<[string, Module]> {
    if (seen.has(this)) return;
    seen.add(this);
    yield [prefix, this];
    for (const [name, child] of this.namedChildren()) {
      yield* child.namedModules(prefix ? `${prefix}.${name}` : name, seen);
    }
  }

  modules(): Module[] {
    return [...this.namedModules()].map(([, m]) => m);
  }

  /** Parameters of this module only (not of submodules), in definition order. */
  private *ownTensors(kind: "param" | "buffer"): Generator<[string, tf.Variable]> {
    const buffers = this[BUFFERS];
    for (const [key, value] of ownEntries(this)) {
      const candidates: Array<[string, unknown]> = Array.isArray(value)
        ? value.map((v, i) => [`${key}.${i}`, v])
        : [[key, value]];
      for (const [name, v] of candidates) {
        if (!(v instanceof tf.Variable)) continue;
        const isBuffer = buffers?.has(key) ?? false;
        if ((kind === "buffer") === isBuffer) yield [name, v];
      }
    }
  }

  *namedParameters(prefix = "", recurse = true): Generator<[string, tf.Variable]> {
    const seen = new Set<tf.Variable>();
    const modules: Array<[string, Module]> = recurse ? [...this.namedModules(prefix)] : [[prefix, this]];
    for (const [modPrefix, mod] of modules) {
      for (const [name, p] of mod.ownTensors("param")) {
        if (seen.has(p)) continue;
        seen.add(p);
        yield [modPrefix ? `${modPrefix}.${name}` : name, p];
      }
    }
  }

  /** All parameters, each once, in definition order. */
  parameters(recurse = true): tf.Variable[] {
    return [...this.namedParameters("", recurse)].map(([, p]) => p);
  }

  *namedBuffers(prefix = ""): Generator<[string, tf.Variable]> {
    for (const [modPrefix, mod] of this.namedModules(prefix)) {
      for (const [name, b] of mod.ownTensors("buffer")) yield [modPrefix ? `${modPrefix}.${name}` : name, b];
    }
  }

  buffers(): tf.Variable[] {
    return [...this.namedBuffers()].map(([, b]) => b);
  }

  /** Parameters and buffers by dotted name. The values are the live variables. */
  stateDict(): Record<string, tf.Tensor> {
    // PyTorch's order: module by module (pre-order), each module's parameters then its buffers.
    const out: Record<string, tf.Tensor> = {};
    const seen = new Set<tf.Variable>();
    for (const [modPrefix, mod] of this.namedModules()) {
      for (const kind of ["param", "buffer"] as const) {
        for (const [name, v] of mod.ownTensors(kind)) {
          if (seen.has(v)) continue;
          seen.add(v);
          out[modPrefix ? `${modPrefix}.${name}` : name] = v;
        }
      }
    }
    return out;
  }

  /**
   * Copies values into the parameters and buffers. With `strict` (the default) missing and
   * unexpected keys are an error, as in PyTorch; shape mismatches always are.
   */
  loadStateDict(
    state: Record<string, tf.Tensor | { shape: number[]; values: ArrayLike<number> }>,
    options: { strict?: boolean } = {},
  ): { missingKeys: string[]; unexpectedKeys: string[] } {
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !(k in state));
    const unexpectedKeys = Object.keys(state).filter((k) => !(k in own));
    if (strict && (missingKeys.length || unexpectedKeys.length)) {
      const parts = [];
      if (missingKeys.length) parts.push(`missing keys: ${missingKeys.join(", ")}`);
      if (unexpectedKeys.length) parts.push(`unexpected keys: ${unexpectedKeys.join(", ")}`);
      throw new Error(`loadStateDict(): ${parts.join("; ")}`);
    }
    for (const [k, target] of Object.entries(own)) {
      const src = state[k];
      if (src === undefined) continue;
      const shape = src instanceof tf.Tensor ? src.shape : src.shape;
      if (!tf.util.arraysEqual(shape, target.shape)) {
        throw new Error(`loadStateDict(): '${k}' has shape [${shape}] in the state dict but [${target.shape}] in the model`);
      }
      const value = src instanceof tf.Tensor ? src : tf.tensor(Array.from(src.values), shape, target.dtype);
      (target as tf.Variable).assign(value.dtype === target.dtype ? value : tf.cast(value, target.dtype));
      if (!(src instanceof tf.Tensor)) value.dispose();
    }
    return { missingKeys, unexpectedKeys };
  }

  /** Sets training mode on this module and every submodule. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Applies `fn` to every submodule (children first) and to this module. */
  apply(fn: (m: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /** Freezes or unfreezes every parameter (PyTorch's `requires_grad_`). */
  requiresGrad_(requires = true): this {
    for (const p of this.parameters()) (p as unknown as { trainable: boolean }).trainable = requires;
    return this;
  }

  zeroGrad(): void {
    clearGrads(this.parameters());
  }

  to(device: DeviceLike): this {
    checkMove(device);
    return this;
  }

  cuda(index?: number): this {
    checkMove(index === undefined ? "cuda" : `cuda:${index}`);
    return this;
  }

  cpu(): this {
    return this;
  }

  /** Number of elements over all parameters. */
  numParameters(onlyTrainable = false): number {
    return this.parameters()
      .filter((p) => !onlyTrainable || p.trainable)
      .reduce((n, p) => n + p.size, 0);
  }

  toString(): string {
    return describe(this, "");
  }

  /** The constructor arguments shown by `toString()` (`in_features=784, …`). */
  extraRepr(): string {
    return "";
  }
}

function ownEntries(m: Module): Array<[string, unknown]> {
  return Object.keys(m)
    .filter((k) => k !== "training")
    .map((k) => [k, (m as unknown as Record<string, unknown>)[k]]);
}

function describe(m: Module, indent: string): string {
  const children = [...m.namedChildren()];
  const head = `${m.constructor.name}(${m.extraRepr()}`;
  if (children.length === 0) return `${head})`;
  const inner = children.map(([n, c]) => `${indent}  (${n}): ${describe(c, indent + "  ")}`).join("\n");
  return `${head}\n${inner}\n${indent})`;
}
