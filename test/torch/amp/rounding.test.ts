import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { tf, amp } from "lightning-ts/torch";
import { selectBackend } from "../../../src/torch/backends/select";
import { KernelContext } from "../../../src/torch/backends/kernels/kernel_context";
import { roundOnWasmHeap } from "../../../src/torch/amp/rounding_simd";

const repo = resolve(__dirname, "../../..");

const { roundToFloat16, roundToBFloat16 } = amp;

function f16(x: number): number {
  const a = new Float32Array([x]);
  roundToFloat16(a);
  return a[0]!;
}

function bf16(x: number): number {
  const a = new Float32Array([x]);
  roundToBFloat16(a);
  return a[0]!;
}

/** float32 bits of x. */
function bits(x: number): number {
  return new Uint32Array(new Float32Array([x]).buffer)[0]!;
}

function fromBits(b: number): number {
  return new Float32Array(new Uint32Array([b]).buffer)[0]!;
}

/**
 * An independent reference in float64 arithmetic, from the format's definition: the quantum of
 * x's binade (never below the subnormal quantum), round half to even, overflow past the largest
 * finite value.
 */
function reference(x: number, mantissaBits: number, minExp: number, max: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const e = Math.max(Math.floor(Math.log2(Math.abs(x))), minExp);
  const q = 2 ** (e - mantissaBits);
  const t = x / q;
  let r = Math.round(t);
  if (r - t === 0.5 && r % 2 !== 0) r -= 1;
  const v = r * q;
  // Past the largest finite value by half a quantum or more (ties go to the even, infinite side).
  if (Math.abs(v) > max) return Math.sign(x) * Infinity;
  return v === 0 ? (x < 0 ? -0 : 0) : v;
}
const f16Ref = (x: number) => reference(x, 10, -14, 65504);
const bf16Ref = (x: number) => reference(x, 7, -126, fromBits(0x7f7f0000));

describe("float16 rounding", () => {
  it("ties to even, the largest finite value and overflow", () => {
    expect(f16(1 + 2 ** -11)).toBe(1); // halfway between 1 and 1 + 2^-10: the even one
    expect(f16(1 + 3 * 2 ** -11)).toBe(1 + 2 * 2 ** -10);
    expect(f16(1 + 2 ** -11 + 2 ** -20)).toBe(1 + 2 ** -10); // past the tie
    expect(f16(65504)).toBe(65504);
    expect(f16(65519.99)).toBe(65504);
    expect(f16(65520)).toBe(Infinity); // the tie goes to the even side, which is infinity
    expect(f16(-65520)).toBe(-Infinity);
    expect(f16(1e10)).toBe(Infinity);
  });

  it("subnormals and underflow", () => {
    expect(f16(2 ** -14)).toBe(2 ** -14); // smallest normal
    expect(f16(2 ** -24)).toBe(2 ** -24); // smallest subnormal
    expect(f16(3 * 2 ** -25)).toBe(2 * 2 ** -24); // 1.5 quanta: tie to even 2
    expect(f16(2 ** -25)).toBe(0); // half the smallest subnormal: tie to even 0
    expect(f16(2 ** -25 + 2 ** -40)).toBe(2 ** -24);
    expect(Object.is(f16(-(2 ** -26)), -0)).toBe(true); // underflow keeps the sign
    expect(f16(1e-30)).toBe(0);
    expect(f16(5 * 2 ** -24 + 2 ** -25)).toBe(6 * 2 ** -24); // 5.5 quanta → 6
  });

  it("NaN and infinities pass through", () => {
    expect(f16(NaN)).toBeNaN();
    expect(f16(Infinity)).toBe(Infinity);
    expect(f16(-Infinity)).toBe(-Infinity);
    expect(Object.is(f16(-0), -0)).toBe(true);
  });

  it("agrees with a float64 reference on 262,144 values across the range", () => {
    const n = 1 << 18; // every binade, many times over
    const u = new Uint32Array(n);
    let s = 12345;
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      // exponents from 2^-30 to 2^17 (underflow to overflow), random mantissa and sign
      const exp = 97 + (s % 48);
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      u[i] = ((s & 1) << 31) | (exp << 23) | (s >>> 9);
    }
    const values = new Float32Array(u.buffer);
    const original = Float32Array.from(values);
    roundToFloat16(values);
    let mismatches = 0;
    for (let i = 0; i < n; i++) if (!Object.is(values[i], Math.fround(f16Ref(original[i]!)))) mismatches++;
    expect(mismatches).toBe(0);
  });
});

describe("bfloat16 rounding", () => {
  it("ties to even on 8 significant bits", () => {
    expect(bf16(1 + 2 ** -8)).toBe(1); // halfway: even
    expect(bf16(1 + 3 * 2 ** -8)).toBe(1 + 2 * 2 ** -7); // 1 + 3·2^-8 → 1 + 2^-6
    expect(bf16(1 + 2 ** -8 + 2 ** -20)).toBe(1 + 2 ** -7);
    expect(bf16(1 + 3 * 2 ** -9)).toBe(1 + 2 ** -7);
  });

  it("huge and tiny float32 values, NaN and infinities", () => {
    expect(bf16(3.4e38)).toBe(Infinity); // above bfloat16's largest finite value (≈3.39e38) by more than half a quantum
    expect(bf16(fromBits(0x7f7f0000))).toBe(fromBits(0x7f7f0000));
    expect(bf16(-fromBits(0x7f7fffff))).toBe(-Infinity);
    expect(bf16(1e30)).toBe(fromBits((bits(1e30) + 0x7fff + ((bits(1e30) >>> 16) & 1)) & 0xffff0000));
    expect(bf16(fromBits(0x00000001))).toBe(0); // float32's smallest subnormal
    expect(bf16(fromBits(0x00008000))).toBe(0); // the tie, to even
    expect(bf16(fromBits(0x00018000))).toBe(fromBits(0x00020000)); // the tie, to even (up)
    expect(bf16(NaN)).toBeNaN();
    expect(bf16(Infinity)).toBe(Infinity);
    expect(bf16(-Infinity)).toBe(-Infinity);
  });

  it("agrees with a float64 reference on 262,144 values", () => {
    const n = 1 << 18; // every binade, many times over
    const u = new Uint32Array(n);
    let s = 777;
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const exp = 1 + (s % 254);
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      u[i] = ((s & 1) << 31) | (exp << 23) | (s >>> 9);
    }
    const values = new Float32Array(u.buffer);
    const original = Float32Array.from(values);
    roundToBFloat16(values);
    let mismatches = 0;
    for (let i = 0; i < n; i++) if (!Object.is(values[i], Math.fround(bf16Ref(original[i]!)))) mismatches++;
    expect(mismatches).toBe(0);
  });
});

describe("rounding on the WASM heap (WebAssembly SIMD)", () => {
  it("gives the JS loops' results bit for bit, specials and ties included, and the committed bytes are the .wat's", async () => {
    await selectBackend("wasm");
    const n = (1 << 18) + 3; // a tail of 3 for the JS loop
    const specials = [0, -0, NaN, -NaN, Infinity, -Infinity, 65504, 65519.99, 65520, -65520, 2 ** -14, 2 ** -24, 2 ** -25, 3 * 2 ** -25, -(2 ** -26),
      1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -9, 3.4e38, 1e-30, 1e-40, fromBits(0x00018000), fromBits(0x7f7fffff), fromBits(0x7fc00001)];
    const source = new Float32Array(n);
    const u = new Uint32Array(source.buffer);
    let s = 99;
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      u[i] = s;
    }
    source.set(specials, 0);
    for (const format of ["float16", "bfloat16"] as const) {
      const expected = Float32Array.from(source);
      if (format === "float16") roundToFloat16(expected);
      else roundToBFloat16(expected);
      const t = tf.tensor1d(source);
      const copy = tf.zeros([n]);
      const ctx = new KernelContext(tf.backend(), "wasm");
      const heap = ctx.values({ dataId: t.dataId, shape: t.shape, dtype: "float32" }) as Float32Array;
      const into = ctx.values({ dataId: copy.dataId, shape: copy.shape, dtype: "float32" }) as Float32Array;
      expect(roundOnWasmHeap(heap.subarray(0, 8), format)).toBe(8); // the SIMD path is taken
      heap.set(source);
      // A rounded copy (what a 16-bit kernel's input gets) in one pass: the source is left as it was.
      amp.roundToHalf(heap, format, into);
      expect(Buffer.from(heap.buffer, heap.byteOffset, heap.byteLength).equals(Buffer.from(source.buffer))).toBe(true);
      amp.roundToHalf(heap, format);
      const want = new Uint32Array(expected.buffer);
      for (const [where, rounded] of [["in place", heap], ["into a copy", into]] as const) {
        const got = new Uint32Array(rounded.buffer, rounded.byteOffset, n);
        let mismatches = 0;
        for (let i = 0; i < n; i++) {
          // NaN payloads may differ; NaN-ness may not
          if (got[i] !== want[i] && !(Number.isNaN(rounded[i]) && Number.isNaN(expected[i]))) mismatches++;
        }
        expect(mismatches, `${format} ${where}`).toBe(0);
      }
      t.dispose();
      copy.dispose();
    }
    const check = spawnSync(process.execPath, [join(repo, "scripts/build_wasm.mjs"), "--check"], { encoding: "utf8" });
    expect(check.status, check.stderr).toBe(0);
  });
});

describe("GradScaler's unscale on the WASM heap", () => {
  it("multiplies by the float32 inverse scale and finds an inf or NaN wherever it is, head or tail", async () => {
    await selectBackend("wasm");
    const n = 1027;
    for (const [bad, at] of [[null, -1], [Infinity, 5], [-Infinity, 1024], [NaN, 1026], [NaN, 0]] as const) {
      const g = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 65536);
      if (bad !== null) g[at] = bad;
      const { unscaled, nonFinite } = amp.unscaleAndCheck(tf.tensor1d(g), 1 / 65536);
      expect(nonFinite, `${bad} at ${at}`).toBe(bad !== null);
      const got = unscaled.dataSync();
      for (let i = 0; i < n; i++) if (i !== at) expect(got[i]).toBe(Math.fround(g[i]! * Math.fround(1 / 65536)));
    }
  });
});
