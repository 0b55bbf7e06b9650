/**
 * Seeded random streams.
 *
 * PyTorch has one global generator, so moving model construction after data construction
 * changes every number drawn. `--to module` does exactly that move, so lightning-ts keeps three
 * independent streams instead: parameter initialisation, data order, and random ops. Each is
 * a xoshiro128** generator seeded from (seed, stream) through splitmix32.
 */

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** `torch.Generator()`'s seed when none is given (`default_rng_seed_val` in PyTorch). */
export const DEFAULT_GENERATOR_SEED = 67280421310721;

/** A seedable generator, the counterpart of `torch.Generator`. */
export class Generator {
  private s = new Uint32Array(4);
  private spareNormal: number | null = null;
  private initialSeed = 0;

  /** Without a seed, PyTorch's `torch.Generator()` default (67280421310721): never `Math.random`. */
  constructor(seed: number = DEFAULT_GENERATOR_SEED) {
    this.manualSeed(seed);
    liveGenerators.add(new WeakRef(this));
    if (liveGenerators.size > pruneAt) pruneGenerators();
  }

  /** Everything that decides the next draws (the spare normal included), for `isolateRandomState`. */
  snapshot(): () => void {
    const s = this.s.slice();
    const { spareNormal, initialSeed } = this;
    return () => {
      this.s.set(s);
      this.spareNormal = spareNormal;
      this.initialSeed = initialSeed;
    };
  }

  manualSeed(seed: number, stream = 0): this {
    const mix = splitmix32((seed >>> 0) ^ Math.imul(stream + 1, 0x27d4eb2d));
    // Mix in the high bits of seeds above 2^32 so large seeds stay distinct.
    const high = Math.floor(seed / 2 ** 32) >>> 0;
    for (let i = 0; i < 4; i++) this.s[i] = mix() ^ (i === 0 ? high : 0);
    if (this.s.every((v) => v === 0)) this.s[0] = 1;
    this.spareNormal = null;
    this.initialSeed = seed;
    return this;
  }

  seed(): number {
    return this.initialSeed;
  }

  /** Next uint32. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  randint(n: number): number {
    return Math.floor(this.random() * n);
  }

  uniform(low: number, high: number): number {
    return low + (high - low) * this.random();
  }

  /** Standard normal (Box–Muller, both values used). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A random permutation of 0..n-1 (Fisher–Yates). */
  randperm(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.randint(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  getState(): number[] {
    return [...this.s, this.initialSeed];
  }

  setState(state: number[]): void {
    this.s.set(state.slice(0, 4));
    this.initialSeed = state[4] ?? 0;
    this.spareNormal = null;
  }
}

/**
 * Every Generator still referenced: the script's own ones too (a dataset drawing random pairs
 * from `new Generator(1)`), so that work that must not change a run — the Trainer's sanity
 * check — can put them all back.
 */
const liveGenerators = new Set<WeakRef<Generator>>();
let pruneAt = 1024;

function pruneGenerators(): void {
  for (const ref of liveGenerators) if (ref.deref() === undefined) liveGenerators.delete(ref);
  pruneAt = Math.max(1024, liveGenerators.size * 2);
}

/**
 * Runs `fn` and puts every random stream back as it was: the three process-wide streams and
 * every live Generator. (Lightning isolates only the global generators around its sanity check;
 * a script's own generator would then draw differently in training than in the plain loop.)
 */
export async function isolateRandomState<T>(fn: () => Promise<T>): Promise<T> {
  const restores: (() => void)[] = [];
  for (const ref of liveGenerators) {
    const g = ref.deref();
    if (g === undefined) liveGenerators.delete(ref);
    else restores.push(g.snapshot());
  }
  try {
    return await fn();
  } finally {
    for (const restore of restores) restore();
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

// Until `manualSeed`, the streams start from a per-process seed, as PyTorch's default generator
// does; this is the only use of `Math.random`, at load time.
const processSeed = Math.floor(Math.random() * 2 ** 32);

/** The three process-wide streams `manualSeed` resets. */
export const streams = {
  /** parameter initialisation (layer constructors, `nn.init`) */
  init: new Generator().manualSeed(processSeed, 0),
  /** data order: shuffles, `randomSplit`, samplers */
  data: new Generator().manualSeed(processSeed, 1),
  /** random ops without an explicit seed: dropout masks, `randn`, … */
  ops: new Generator().manualSeed(processSeed, 2),
};

let lastSeed: number | null = null;

/** Seeds every random stream, like `torch.manual_seed`. */
export function manualSeed(seed: number): void {
  if (!Number.isFinite(seed)) throw new Error(`manualSeed: seed must be a finite number, got ${seed}`);
  const s = Math.floor(Math.abs(seed));
  streams.init.manualSeed(s, 0);
  streams.data.manualSeed(s, 1);
  streams.ops.manualSeed(s, 2);
  lastSeed = s;
}

/** The seed last given to `manualSeed`, or null. */
export function initialSeed(): number | null {
  return lastSeed;
}

/** A fresh seed for one tfjs random op (tfjs ops take a numeric seed per call). */
export function nextOpSeed(): number {
  return streams.ops.nextUint32();
}

/** Snapshot of all streams, for checkpoints. */
export function getRngState(): Record<keyof typeof streams, number[]> {
  return { init: streams.init.getState(), data: streams.data.getState(), ops: streams.ops.getState() };
}

export function setRngState(state: Record<keyof typeof streams, number[]>): void {
  streams.init.setState(state.init);
  streams.data.setState(state.data);
  streams.ops.setState(state.ops);
}
