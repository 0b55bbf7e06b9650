/**
 * Which objects Lite handed out as wrappers, and what each wraps. The wrappers are Proxies that
 * keep the wrapped object's type (so `[model, optimizer] = this.setup(model, optimizer)` keeps
 * `Net` and `optim.Adam`); this registry is how Lite recognises its own wrappers and reaches the
 * original (Fabric's `_unwrap_objects`).
 */
const originals = new WeakMap<object, object>();

export function registerWrapper<T extends object>(wrapper: T, original: T): T {
  originals.set(wrapper, original);
  return wrapper;
}

export function isWrapped(x: unknown): boolean {
  return typeof x === "object" && x !== null && originals.has(x);
}

/** The object a Lite wrapper wraps, or `x` itself when it is not one. */
export function unwrap<T>(x: T): T {
  if (typeof x !== "object" || x === null) return x;
  return (originals.get(x) as T | undefined) ?? x;
}

/**
 * A Proxy over `target` whose methods run on the original (so private state and `this`-based
 * lookups inside them see the real object, as Fabric's wrappers forward attribute access to the
 * wrapped module) and return the wrapper where the original returns itself (`model.train()`
 * stays wrapped). `overrides` replaces chosen members.
 */
export function forwardingProxy<T extends object>(target: T, overrides: Partial<Record<PropertyKey, unknown>>): T {
  const bound = new Map<Function, Function>();
  let proxy: T;
  proxy = new Proxy(target, {
    get(t, prop) {
      if (Object.prototype.hasOwnProperty.call(overrides, prop)) return overrides[prop as keyof typeof overrides];
      const value = Reflect.get(t, prop, t);
      if (typeof value !== "function" || prop === "constructor") return value;
      let fn = bound.get(value);
      if (fn === undefined) {
        const method = value as (...args: unknown[]) => unknown;
        fn = function (this: unknown, ...args: unknown[]) {
          const result = method.apply(t, args);
          return result === t ? proxy : result;
        };
        bound.set(value, fn);
      }
      return fn;
    },
  });
  return registerWrapper(proxy, target);
}
