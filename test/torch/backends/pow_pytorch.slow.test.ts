/**
 * `Pow` with PyTorch's special exponents (backends/kernels/pow.ts) against PyTorch itself:
 * Debian's /usr/bin/python3 with `apt-get install python3-torch` raises 40,009 float32 values
 * (normal and uniform draws, ±0, ±inf, NaN, tiny and huge) to 2, 3, 0.5, -1, -2 and -0.5; ours
 * must give its bits on WASM and on the pure-JS backend (NaN payloads aside). tfjs's own kernels
 * differ from PyTorch in up to a quarter of them (`powf` rounds x³ once, PyTorch's x·x·x twice).
 * As pytorch_reference.slow.test.ts: without PyTorch, failed under CI=true, skipped visibly
 * elsewhere.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { tf, selectBackend } from "lightning-ts/torch";

const PYTHON = "/usr/bin/python3";
const EXPONENTS = [2, 3, 0.5, -1, -2, -0.5];
const SCRIPT = `
import sys, torch
g = torch.Generator().manual_seed(0)
x = torch.cat([torch.randn(20000, generator=g) * 3, torch.rand(20000, generator=g) * 10,
               torch.tensor([0.0, -0.0, float('inf'), float('-inf'), float('nan'), 1e-30, -1e-30, 3e12, -7.5])])
out = [x] + [torch.pow(x, e) for e in (${EXPONENTS.map((e) => e.toFixed(1)).join(", ")})]
sys.stdout.buffer.write(torch.cat(out).numpy().tobytes())
`;

const probe = spawnSync(PYTHON, ["-c", "import torch, numpy"], { encoding: "utf8" });
const hasTorch = probe.status === 0;
const onCI = process.env.CI === "true" || process.env.CI === "1";

describe.skipIf(!hasTorch && !onCI)("Pow against PyTorch", () => {
  it("has PyTorch", () => {
    expect(
      hasTorch,
      `PyTorch is missing for ${PYTHON}: install it with \`apt-get install -y python3-torch\` (${probe.stderr?.trim()})`,
    ).toBe(true);
  });

  for (const backend of ["wasm", "cpu"] as const) {
    it.runIf(hasTorch)(`${backend}: x ** e gives PyTorch 1.13's bits for e in ${EXPONENTS.join(", ")}`, async () => {
      const run = spawnSync(PYTHON, ["-c", SCRIPT], { maxBuffer: 1 << 24 });
      expect(run.status, run.stderr?.toString()).toBe(0);
      const all = new Float32Array(
        run.stdout.buffer.slice(run.stdout.byteOffset, run.stdout.byteOffset + run.stdout.length),
      );
      const n = all.length / (EXPONENTS.length + 1);
      const canonical = (v: Float32Array) =>
        Array.from(new Uint32Array(Float32Array.from(v).buffer), (u) =>
          (u & 0x7f800000) === 0x7f800000 && u & 0x7fffff ? 0x7fc00000 : u,
        );
      await selectBackend(backend);
      const x = tf.tensor(all.subarray(0, n));
      EXPONENTS.forEach((e, k) => {
        const ours = tf.pow(x, e);
        const theirs = canonical(all.subarray((k + 1) * n, (k + 2) * n));
        const mine = canonical(ours.dataSync() as Float32Array);
        expect(mine.filter((u, i) => u !== theirs[i]).length, `x ** ${e}: values that differ from PyTorch's`).toBe(0);
        ours.dispose();
      });
      x.dispose();
    });
  }
});

if (!hasTorch && !onCI) {
  describe("Pow against PyTorch", () => {
    it.skip(`skipped: ${PYTHON} cannot import torch (apt-get install -y python3-torch)`, () => {});
  });
}
