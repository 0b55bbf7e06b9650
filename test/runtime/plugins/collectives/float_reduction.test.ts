// The all-reduce's SIMD arithmetic against the JavaScript loops it replaces, bit for bit:
// specials (NaN, ±inf, ±0, subnormals), lengths that leave a tail after the last four, a
// segment received into the module's memory and one from elsewhere, several blocks.
import { describe, expect, it } from "vitest";
import { FloatReduction } from "../../../../src/runtime/plugins/collectives/float_reduction";

const specials = [NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 1e-38, 3.4e38, -3.4e38, 1.5, -2.25, 0.1, 1 / 3];
const values = (n: number, salt: number) => Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? specials[(i * 7 + salt) % specials.length]! : Math.sin(i * 12.9898 + salt) * 1e3));
const bits = (a: Float32Array) => Array.from(a, (v) => (Number.isNaN(v) ? "NaN" : new Uint32Array(Float32Array.of(v).buffer)[0]));

describe("FloatReduction (WebAssembly SIMD)", () => {
  const simd = FloatReduction.create(1000)!;

  it("adds as `mine[i] = incoming[i] + mine[i]` does, received in place or copied in, over several blocks", () => {
    expect(simd).not.toBeNull();
    for (const n of [1, 3, 4, 7, 1000, 16384 + 5, 70_001]) {
      const mine = values(n, 1);
      const incoming = values(n, 2);
      const loop = mine.slice();
      for (let i = 0; i < n; i++) loop[i] = incoming[i]! + loop[i]!;
      simd.add(mine, incoming);
      expect(bits(mine), `n = ${n}`).toEqual(bits(loop));
    }
    // received straight into the module's memory
    const n = 999;
    const into = new Float32Array(simd.incoming(4 * n).buffer, simd.incoming(4 * n).byteOffset, n);
    into.set(values(n, 3));
    const mine = values(n, 4);
    const loop = mine.slice();
    for (let i = 0; i < n; i++) loop[i] = into[i]! + loop[i]!;
    simd.add(mine, into);
    expect(bits(mine)).toEqual(bits(loop));
  });

  it("divides as `data[i] / d` does", () => {
    for (const [n, d] of [[5, 2], [70_001, 3], [17, 7]] as const) {
      const data = values(n, 5);
      const loop = data.map((v) => v / d);
      simd.divide(data, d);
      expect(bits(data), `n = ${n}, d = ${d}`).toEqual(bits(loop));
    }
  });
});
