/**
 * tfjs's random ops, reseeded so that no draw reaches `Math.random`.
 *
 * tfjs seeds each random op from its `seed` argument but treats 0 as "no seed" (`seed ? seed :
 * Math.random()` in its Gaussian and gamma samplers, `seed || Math.random()` in `multinomial`),
 * and an omitted seed always means `Math.random`. A script that writes `seed = epoch` or calls
 * `tf.randomUniform(shape)` therefore differs from run to run whatever `manualSeed` says.
 *
 * These wrappers resolve the seed before tfjs sees it: an omitted seed becomes the next seed of
 * the random-ops stream (`nextOpSeed()`, so `manualSeed` reproduces it, as it does `randn` and
 * dropout), and 0 becomes the string "0", which tfjs's samplers hash like any other seed (what its
 * uniform sampler already does with 0). `multinomial` hands the seed to a kernel that wants a
 * number, so its 0 becomes a fixed non-zero number instead.
 *
 * The wrappers replace the functions on tfjs-core's CommonJS exports. That object is the `tf`
 * of lightning-ts (tf.ts takes it through `tfjs_core.cjs`) and what `@tensorflow/tfjs`,
 * tfjs-layers and every `require` read at call time; Node builds the ES namespace of a CommonJS
 * module from it once, on its first `import`, which comes after this module has run when a
 * script imports lightning-ts first. `wrapped()` reports whether that worked (a test holds it).
 */
import { createRequire } from "node:module";
import { nextOpSeed } from "./random.ts";

type Seed = number | string | undefined | null;
type Fn = (...args: unknown[]) => unknown;

/** What `multinomial` gets for an explicit 0: any fixed non-zero seed keeps 0 deterministic. */
const MULTINOMIAL_ZERO = 0x5eed;

function samplerSeed(seed: Seed): number | string {
  const s = seed ?? nextOpSeed();
  return s === 0 ? "0" : s;
}

function kernelSeed(seed: Seed): number | string {
  const s = seed ?? nextOpSeed();
  return s === 0 ? MULTINOMIAL_ZERO : s;
}

/** op name → [index of its seed argument, how to resolve it] */
const SEEDED_OPS: Record<string, [number, (s: Seed) => number | string]> = {
  randomNormal: [4, samplerSeed],
  truncatedNormal: [4, samplerSeed],
  randomUniform: [4, samplerSeed],
  randomUniformInt: [3, samplerSeed],
  randomStandardNormal: [2, samplerSeed],
  randomGamma: [4, samplerSeed],
  dropout: [3, samplerSeed],
  multinomial: [2, kernelSeed],
};

const WRAPPED = Symbol.for("lightning-ts.seededRandomOp");

const require = createRequire(import.meta.url);
const core = require("@tensorflow/tfjs-core") as Record<string, Fn>;

for (const [name, [index, resolve]] of Object.entries(SEEDED_OPS)) {
  const original = core[name];
  if (typeof original !== "function" || (original as unknown as Record<symbol, unknown>)[WRAPPED]) continue;
  const wrapper = function (this: unknown, ...args: unknown[]) {
    if (args.length <= index) args.length = index + 1;
    args[index] = resolve(args[index] as Seed);
    return original.apply(this, args);
  };
  Object.defineProperty(wrapper, "name", { value: original.name, configurable: true });
  Object.defineProperty(wrapper, WRAPPED, { value: original });
  core[name] = wrapper;
}

/** True when `fn` is one of these wrappers (as opposed to tfjs's own op). */
export function wrapped(fn: unknown): boolean {
  return typeof fn === "function" && (fn as unknown as Record<symbol, unknown>)[WRAPPED] !== undefined;
}

/** The names of the random ops whose seed is resolved here. */
export const seededOps: readonly string[] = Object.keys(SEEDED_OPS);
