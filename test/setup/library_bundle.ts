/**
 * The library as one esbuild bundle of the current sources, for the scripts the suites run as
 * child processes (the fixtures, plain and migrated).
 *
 * A child that loads `lightning-ts` from `src/` through tsx's loader hooks pays for each of the
 * ~400 modules twice: a resolve and a load round trip to the hooks' thread, then the transform.
 * That was ~0.7 s of the ~2 s of CPU each fixture process took, and `npm test` starts ~36 of
 * them. Bundled (a few files, the same code, built from the sources in ~0.3 s when the suite
 * starts, so no build stands between an edit and its test), the script itself still runs through
 * tsx as a user runs it; tsx's own tsconfig `paths` (`TSX_TSCONFIG_PATH`) send its
 * `lightning-ts` imports to the bundle. A child that imports anything else of the package
 * (`lightning-ts/codemods`) still resolves it from the sources.
 *
 * The entry points sit side by side at the bundle's root, as do the chunks esbuild splits off,
 * so `new URL("./collectives_worker.js", import.meta.url)` finds the DDP worker from whichever
 * file holds that code. The bundle lives under `node_modules/.cache/`, inside the package, so
 * that its imports of tfjs and `packageRoot()` resolve as they do from `src/`.
 */
import { build } from "esbuild";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** The tsconfig whose `paths` send `lightning-ts` to the bundle; "" when there is none. */
    libraryBundleTsconfig: string;
  }
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** package.json export → its source entry point; the key is also the bundled file's name. */
const ENTRIES: Record<string, { specifier: string; source: string }> = {
  runtime: { specifier: "lightning-ts", source: "src/runtime/index.ts" },
  torch: { specifier: "lightning-ts/torch", source: "src/torch/index.ts" },
  backend_ready: { specifier: "lightning-ts/backend-ready", source: "src/torch/backends/ready_at_start.ts" },
  collectives_worker: { specifier: "", source: "src/runtime/plugins/collectives/collectives_worker.ts" },
};

/** Builds the bundle and its tsconfig into a fresh directory; returns both paths. */
export async function buildLibraryBundle(): Promise<{ dir: string; tsconfig: string }> {
  const cache = join(ROOT, "node_modules", ".cache", "lightning-ts");
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, "library-bundle-"));
  await build({
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, { source }]) => [name, join(ROOT, source)])),
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    outdir: dir,
    // tfjs, ts-morph, …: loaded from node_modules as they are by the sources
    packages: "external",
    // for the CommonJS the bundle takes in (src/torch/tfjs_core.cjs requires tfjs)
    banner: {
      js: 'import { createRequire as __bundleCreateRequire } from "node:module"; const require = __bundleCreateRequire(import.meta.url);',
    },
    logLevel: "error",
  });
  const paths = Object.fromEntries(
    Object.entries(ENTRIES)
      .filter(([, { specifier }]) => specifier)
      .map(([name, { specifier }]) => [specifier, [join(dir, `${name}.js`)]]),
  );
  const tsconfig = join(dir, "tsconfig.json");
  writeFileSync(tsconfig, JSON.stringify({ compilerOptions: { paths } }, null, 2));
  return { dir, tsconfig };
}

/** vitest's globalSetup: one bundle for the whole run, removed at its end. */
export default async function setup(project: TestProject): Promise<() => void> {
  const { dir, tsconfig } = await buildLibraryBundle();
  project.provide("libraryBundleTsconfig", tsconfig);
  return () => rmSync(dir, { recursive: true, force: true });
}

/** The environment a child process needs to load the bundle (empty outside a suite that built one). */
export function libraryBundleEnv(): NodeJS.ProcessEnv {
  const tsconfig = inject("libraryBundleTsconfig");
  return tsconfig ? { TSX_TSCONFIG_PATH: tsconfig } : {};
}
