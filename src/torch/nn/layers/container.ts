import { tf } from "../../tf.ts";
import { Module } from "../module.ts";

/**
 * Containers. Children are stored as own properties named "0", "1", … (or by key), so the
 * Module walker names their parameters exactly like PyTorch: `0.weight` inside a Sequential,
 * `layers.1.bias` for a ModuleList held in a property called `layers`. JavaScript enumerates
 * integer-like property names before all others, so each container also keeps its children's
 * order itself and overrides `namedChildren()` with it: a named Sequential that gets
 * `append`-ed ("conv", "act", then "2") keeps PyTorch's order.
 */

const ORDER = Symbol("lightning-ts.childOrder");

abstract class Container extends Module {
  private [ORDER]: string[] = [];

  protected setChild(key: string, m: Module): void {
    const self = this as unknown as Record<string, Module>;
    if (!this[ORDER].includes(key)) this[ORDER].push(key);
    self[key] = m;
  }

  protected deleteChild(key: string): void {
    this[ORDER] = this[ORDER].filter((k) => k !== key);
    delete (this as unknown as Record<string, unknown>)[key];
  }

  /** The container's children in insertion order. */
  protected childEntries(): Array<[string, Module]> {
    const self = this as unknown as Record<string, unknown>;
    return this[ORDER].filter((k) => self[k] instanceof Module).map((k) => [k, self[k] as Module]);
  }

  override *namedChildren(): Generator<[string, Module]> {
    const own = this.childEntries();
    yield* own;
    // Modules a subclass keeps in its own fields come after the container's children.
    const seen = new Set(own.map(([k]) => k));
    for (const [k, m] of super.namedChildren()) if (!seen.has(k)) yield [k, m];
  }
}

function checkModule(m: unknown, where: string): Module {
  if (!(m instanceof Module)) {
    const name = m === null ? "null" : typeof m === "object" ? (m as object).constructor?.name : typeof m;
    throw new Error(`${where}: expected an nn.Module, got ${name}`);
  }
  return m;
}

function resolveIndex(i: number, length: number, where: string): number {
  if (!Number.isInteger(i) || i < -length || i >= length)
    throw new RangeError(`${where}: index ${i} is out of range (length ${length})`);
  return i < 0 ? i + length : i;
}

function isPlainRecord(v: unknown): v is Record<string, Module> {
  return v != null && typeof v === "object" && !(v instanceof Module) && !Array.isArray(v);
}

/**
 * `nn.Sequential(...modules)`: `forward` feeds each child's output to the next. Also
 * `new nn.Sequential({ conv: ..., relu: ... })` for named children (PyTorch's OrderedDict form).
 */
export class Sequential extends Container {
  [index: number]: Module;

  constructor(...modules: Module[]);
  constructor(named: Record<string, Module>);
  constructor(...args: Array<Module | Record<string, Module>>) {
    super();
    if (args.length === 1 && isPlainRecord(args[0])) {
      for (const [k, m] of Object.entries(args[0])) this.setChild(k, checkModule(m, `Sequential: child '${k}'`));
    } else {
      args.forEach((m, i) => this.setChild(String(i), checkModule(m, `Sequential: argument ${i}`)));
    }
  }

  get length(): number {
    return this.childEntries().length;
  }

  /** The i-th child (negative counts from the end), like `seq[i]`. */
  get<T extends Module = Module>(i: number): T {
    const entries = this.childEntries();
    return entries[resolveIndex(i, entries.length, "Sequential.get()")][1] as T;
  }

  /** Children [start, end) as a new Sequential sharing the modules, keeping their names (`seq[a:b]`). */
  slice(start?: number, end?: number): Sequential {
    const out = new Sequential();
    for (const [k, m] of this.childEntries().slice(start, end)) out.setChild(k, m);
    return out;
  }

  append(module: Module): this {
    this.setChild(String(this.length), checkModule(module, "Sequential.append()"));
    return this;
  }

  *[Symbol.iterator](): Iterator<Module> {
    for (const [, m] of this.childEntries()) yield m;
  }

  override forward(x: tf.Tensor): tf.Tensor;
  override forward(...args: unknown[]): unknown;
  override forward(...args: unknown[]): unknown {
    let out: unknown = args[0];
    for (const [, m] of this.childEntries()) out = (m.forward as (x: unknown) => unknown).call(m, out);
    return out;
  }
}

/**
 * `nn.ModuleList(modules)`: holds submodules so their parameters are registered; it has no
 * forward. Indexable with `get(i)`, iterable, `append` / `extend` / `insert`, `length`.
 */
export class ModuleList<T extends Module = Module> extends Container {
  [index: number]: T;

  constructor(modules: Iterable<T> = []) {
    super();
    this.extend(modules);
  }

  get length(): number {
    return this.childEntries().length;
  }

  get(i: number): T {
    const entries = this.childEntries();
    return entries[resolveIndex(i, entries.length, "ModuleList.get()")][1] as T;
  }

  /** Replaces the i-th module (`list[i] = m`). */
  set(i: number, module: T): this {
    const idx = resolveIndex(i, this.length, "ModuleList.set()");
    this.setChild(String(idx), checkModule(module, "ModuleList.set()"));
    return this;
  }

  append(module: T): this {
    this.setChild(String(this.length), checkModule(module, "ModuleList.append()"));
    return this;
  }

  extend(modules: Iterable<T>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  /** Inserts before index i, shifting the later modules up by one. */
  insert(i: number, module: T): this {
    checkModule(module, "ModuleList.insert()");
    const modules = [...this];
    const n = modules.length;
    const idx = Math.max(0, Math.min(n, i < 0 ? i + n : i));
    modules.splice(idx, 0, module);
    modules.forEach((m, k) => this.setChild(String(k), m));
    return this;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (const [, m] of this.childEntries()) yield m as T;
  }

  override forward(..._args: unknown[]): never {
    throw new Error("ModuleList has no forward(): iterate over it and call each module");
  }
}

/**
 * `nn.ModuleDict(modules)`: submodules by string key (`md.get("conv")`). Keys may not shadow a
 * Module member. Non-integer keys keep insertion order; integer-like keys come first, in
 * ascending order (JavaScript's property order).
 */
export class ModuleDict<T extends Module = Module> extends Container {
  constructor(modules: Record<string, T> | Iterable<[string, T]> = {}) {
    super();
    this.update(modules);
  }

  private checkKey(key: string): void {
    if (typeof key !== "string" || key === "" || key.includes("."))
      throw new Error(`ModuleDict: key must be a non-empty string without '.', got ${JSON.stringify(key)}`);
    if (key === "training" || key in ModuleDict.prototype)
      throw new Error(`ModuleDict: key '${key}' would shadow a Module member`);
  }

  get length(): number {
    return this.childEntries().length;
  }

  get(key: string): T {
    const m = (this as unknown as Record<string, unknown>)[key];
    if (!Object.hasOwn(this, key) || !(m instanceof Module)) throw new Error(`ModuleDict: no module named '${key}'`);
    return m as T;
  }

  set(key: string, module: T): this {
    this.checkKey(key);
    this.setChild(key, checkModule(module, `ModuleDict.set('${key}')`));
    return this;
  }

  has(key: string): boolean {
    return Object.hasOwn(this, key) && (this as unknown as Record<string, unknown>)[key] instanceof Module;
  }

  /** Removes and returns the module under `key` (`pop`). */
  pop(key: string): T {
    const m = this.get(key);
    this.deleteChild(key);
    return m;
  }

  update(modules: Record<string, T> | Iterable<[string, T]>): this {
    const entries =
      Symbol.iterator in Object(modules) ? [...(modules as Iterable<[string, T]>)] : Object.entries(modules);
    for (const [k, m] of entries) this.set(k, m);
    return this;
  }

  keys(): string[] {
    return this.childEntries().map(([k]) => k);
  }

  values(): T[] {
    return this.childEntries().map(([, m]) => m as T);
  }

  items(): Array<[string, T]> {
    return this.childEntries() as Array<[string, T]>;
  }

  *[Symbol.iterator](): Iterator<string> {
    yield* this.keys();
  }

  override forward(..._args: unknown[]): never {
    throw new Error("ModuleDict has no forward(): call the modules it holds");
  }
}
