import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const cache = new Map<string, boolean>();

/**
 * Whether an npm package can be resolved from this installation, without loading it. The
 * accelerators use it to say what is available before any backend is initialised (loading
 * tfjs-node-gpu or Dawn has side effects we only want once the user asked for that device).
 */
export function packageAvailable(name: string): boolean {
  let hit = cache.get(name);
  if (hit === undefined) {
    try {
      require.resolve(name);
      hit = true;
    } catch {
      hit = false;
    }
    cache.set(name, hit);
  }
  return hit;
}
