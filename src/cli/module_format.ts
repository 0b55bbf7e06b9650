import { existsSync, readFileSync } from "node:fs";
import { dirname, extname, join } from "node:path";

/**
 * Whether Node (and tsx) run a script as an ES module or as CommonJS, by Node's own rule: the
 * extension (`.mts`/`.mjs`, `.cts`/`.cjs`), else the nearest package.json's `"type"` (no
 * package.json, or no `"type": "module"`: CommonJS). CommonJS has no top-level `await`, so the
 * migrated script must not use one there.
 */
export function moduleFormatOf(path: string): "esm" | "commonjs" {
  const ext = extname(path);
  if (ext === ".mts" || ext === ".mjs") return "esm";
  if (ext === ".cts" || ext === ".cjs") return "commonjs";
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      try {
        return (JSON.parse(readFileSync(manifest, "utf8")) as { type?: unknown }).type === "module" ? "esm" : "commonjs";
      } catch {
        return "commonjs";
      }
    }
    if (dirname(dir) === dir) return "commonjs";
  }
}
