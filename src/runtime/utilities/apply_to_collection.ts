/**
 * Lightning's `apply_to_collection`: applies `fn` to every leaf matching `isLeaf` inside nested
 * arrays, plain objects and Maps, keeping the structure. A container whose elements all come
 * back unchanged is returned as is (no copy): batches go through this every step, and a device
 * move on this platform usually changes nothing.
 */
export function applyToCollection<T>(data: T, isLeaf: (x: unknown) => boolean, fn: (x: any) => unknown): T {
  return visit(data, isLeaf, fn) as T;
}

function visit(data: unknown, isLeaf: (x: unknown) => boolean, fn: (x: any) => unknown): unknown {
  if (isLeaf(data)) return fn(data);
  if (Array.isArray(data)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < data.length; i++) {
      const v = visit(data[i], isLeaf, fn);
      if (out === null && v !== data[i]) out = data.slice(0, i);
      if (out !== null) out.push(v);
    }
    return out ?? data;
  }
  if (data instanceof Map) {
    let changed = false;
    const out = new Map();
    for (const [k, v] of data) {
      const w = visit(v, isLeaf, fn);
      if (w !== v) changed = true;
      out.set(k, w);
    }
    return changed ? out : data;
  }
  if (isPlainObject(data)) {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(data)) {
      const v = (data as Record<string, unknown>)[k];
      const w = visit(v, isLeaf, fn);
      if (w !== v) changed = true;
      out[k] = w;
    }
    return changed ? out : data;
  }
  return data;
}

export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== "object") return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}
