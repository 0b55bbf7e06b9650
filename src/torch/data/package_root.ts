import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | null = null;

/**
 * The lightning-ts package root: the nearest folder above this file whose package.json is
 * named "lightning-ts". Found from `import.meta.url`, so bundled fixtures resolve the same
 * from any working directory and from an installed copy under node_modules.
 */
export function packageRoot(): string {
  if (cached !== null) return cached;
  const start = path.dirname(fileURLToPath(import.meta.url));
  let dir = start;
  for (;;) {
    const manifest = path.join(dir, "package.json");
    if (fs.existsSync(manifest)) {
      try {
        if (JSON.parse(fs.readFileSync(manifest, "utf8")).name === "lightning-ts") return (cached = dir);
      } catch {
        /* an unreadable manifest is not ours: keep going up */
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`lightning-ts: cannot find the package root (package.json) above ${start}`);
    dir = parent;
  }
}
