/**
 * The recurrent layers' fused time steps (recurrent_cells.ts) and their sigmoid and tanh
 * (activations.ts): the activations against float64 and WASM's SIMD against the JavaScript
 * operations; each kernel on WASM against the same kernel on the pure-JS backend; the backward
 * kernels against the tfjs op chain they replace, bit for bit; nn.LSTM / GRU / RNN and their
 * cells, fused, against the op chain (the kernels unregistered), values and gradients.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../../src/torch/backends/select";
import { installedKernelShims } from "../../../src/torch/backends/kernels/index";
import {
  activationsSimd,
  sigmoid32,
  sigmoidOfSum,
  tanh32,
  tanhOf,
  tanhOfSum,
} from "../../../src/torch/backends/kernels/activations";
import {
  GRU_CELL,
  GRU_CELL_GRAD,
  LSTM_CELL,
  LSTM_CELL_GRAD,
  RNN_CELL,
  RNN_CELL_GRAD,
  RECURRENT_CELL_KERNELS,
} from "../../../src/torch/backends/kernels/recurrent_cells";
import { withRounding } from "../../../src/torch/amp/kernel_rounding";
import { nn, manualSeed } from "../../../src/torch/index";
import { tf } from "./parity";
import { countCalls, expectEachWithin, withoutKernels } from "./kernel_swaps";
import { expectStepsLeaveNothing } from "./memory_check";

type Backend = "wasm" | "cpu";

beforeAll(async () => {
  await selectBackend("wasm");
});
afterAll(async () => {
  await selectBackend("wasm");
});

/** float32's spacing at the exact value v (subnormals: 2^-149). */
function ulp(v: number): number {
  const a = Math.abs(v);
  return a < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(a)) - 23);
}

/** Deterministic float32 values: a dense sweep of [-30, 30], magnitudes 1e-45..3e38 of both signs, special values. */
function sweep(): Float32Array {
  const values: number[] = [];
  for (let i = 0; i <= 120_000; i++) values.push(-30 + i / 2000);
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 40_000; i++) values.push((next() < 0.5 ? -1 : 1) * 10 ** (next() * 83 - 45));
  values.push(
    0,
    -0,
    NaN,
    Infinity,
    -Infinity,
    2 ** -149,
    -(2 ** -149),
    88,
    -88,
    -103.5,
    -104,
    -110,
    3e38,
    -3e38,
    9,
    10,
    -9.5,
    0.5,
    -0.5,
  );
  return Float32Array.from(values);
}

describe("sigmoid and tanh in float32 (activations.ts)", () => {
  const xs = sweep();
  const cases = [
    ["sigmoid", sigmoid32, (x: number) => 1 / (1 + Math.exp(-x))],
    ["tanh", tanh32, Math.tanh],
  ] as const;

  for (const [name, f, exact] of cases) {
    it(`${name}: within 2.5 ulps of the float64 value over ${xs.length} values; NaN stays NaN`, () => {
      let worst = 0;
      for (const x of xs) {
        const y = f(x);
        const e = exact(x);
        if (Number.isNaN(e)) {
          expect(y, `${name}(${x})`).toBeNaN();
          continue;
        }
        expect(Number.isFinite(y) || !Number.isFinite(e), `${name}(${x}) = ${y}`).toBe(true);
        worst = Math.max(worst, Math.abs(y - e) / ulp(e));
      }
      expect(worst).toBeLessThanOrEqual(2.5);
      expect(worst).toBeGreaterThan(0); // (the sweep reaches values that are not correctly rounded)
    });
  }

  it("exact where it must be: the signs of zero, the limits, symmetry", () => {
    expect(Object.is(tanh32(-0), -0)).toBe(true);
    expect(Object.is(tanh32(0), 0)).toBe(true);
    expect(tanh32(Infinity)).toBe(1);
    expect(tanh32(-Infinity)).toBe(-1);
    expect(tanh32(2 ** -149)).toBe(2 ** -149);
    expect(sigmoid32(0)).toBe(0.5);
    expect(sigmoid32(-0)).toBe(0.5);
    expect(sigmoid32(Infinity)).toBe(1);
    expect(sigmoid32(-Infinity)).toBe(0);
    expect(sigmoid32(-104)).toBe(0);
    // e^-100 is a float32 subnormal: the result keeps it
    expect(sigmoid32(-100)).toBeGreaterThan(0);
    for (const x of [0.001, 0.3, 1.7, 5, 12]) expect(tanh32(-x)).toBe(-tanh32(x));
  });

  it("WASM's SIMD gives the JavaScript operations' bits, with and without a second operand, at any offset and count", async () => {
    await selectBackend("wasm");
    const n = xs.length;
    const a = tf.tensor1d(xs);
    const b = tf.tensor1d(Float32Array.from(xs, (v, i) => (Number.isFinite(v) ? v * 0.25 - (i % 7) : 1)));
    const outs = [tf.zeros([n]), tf.zeros([n])];
    const heap = (t: tf.Tensor) =>
      (tf.backend() as unknown as { typedArrayFromHeap(t: tf.Tensor): Float32Array }).typedArrayFromHeap(t);
    const [av, bv, o1, o2] = [a, b, ...outs].map(heap) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const simd = activationsSimd.exportsFor(av, bv, o1, o2);
    expect(simd).not.toBeNull();
    const same = (label: string) => {
      expect(o1.length).toBe(o2.length);
      let diff = -1;
      for (let i = 0; i < o1.length && diff < 0; i++)
        if (!Object.is(o1[i], o2[i]) && !(Number.isNaN(o1[i]) && Number.isNaN(o2[i]))) diff = i;
      expect(diff, `${label}: first difference at ${diff} (x = ${av[diff]})`).toBe(-1);
    };
    for (const [offset, count] of [
      [0, n - 1],
      [3, n - 10],
      [1, 7],
    ] as const) {
      o1.fill(0);
      o2.fill(0);
      sigmoidOfSum(av, offset, bv, offset + 1, o1, offset, count, simd);
      sigmoidOfSum(av, offset, bv, offset + 1, o2, offset, count, null);
      same(`sigmoid(a + b) from ${offset}, ${count}`);
      tanhOfSum(av, offset, bv, offset + 1, o1, offset, count, simd);
      tanhOfSum(av, offset, bv, offset + 1, o2, offset, count, null);
      same(`tanh(a + b) from ${offset}, ${count}`);
      tanhOf(av, offset, o1, offset, count, simd);
      tanhOf(av, offset, o2, offset, count, null);
      same(`tanh(a) from ${offset}, ${count}`);
    }
    // tanh(a) keeps -0 (adding a zero operand would not)
    tanhOf(av, 0, o1, 0, n, simd);
    const negativeZeros = Array.from(av.keys()).filter((i) => Object.is(av[i], -0));
    expect(negativeZeros.length).toBeGreaterThan(0);
    for (const i of negativeZeros) expect(Object.is(o1[i], -0)).toBe(true);
    tf.dispose([a, b, ...outs]);
  });
});

/** Deterministic inputs for the kernels: moderate values, a few large ones, one NaN where asked. */
function values(n: number, salt: number, scale = 2, nan = false): Float32Array {
  const v = Float32Array.from(
    { length: n },
    (_, i) => scale * Math.sin(i * 1.37 + salt * 2.1) + (i % 11 === 3 ? 9 * Math.cos(salt + i) : 0),
  );
  if (nan) v[Math.floor(n / 2)] = NaN;
  return v;
}

interface KernelCase {
  name: string;
  inputs: Record<string, [number[], Float32Array]>;
  attrs: Record<string, number | boolean>;
}

/** The kernels' cases: B = 3, H = 5 (a tail after the SIMD groups of four) and 8; step 1 of 3. */
function kernelCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const H of [5, 8]) {
    const B = 3;
    const T = 3;
    const t = (shape: number[], salt: number, scale = 2, nan = false): [number[], Float32Array] => [
      shape,
      values(
        shape.reduce((a, b) => a * b, 1),
        salt,
        scale,
        nan,
      ),
    ];
    const gates = (salt: number): [number[], Float32Array] => [
      [B, 4 * H],
      Float32Array.from(values(B * 4 * H, salt), (v) => 1 / (1 + Math.exp(-v))),
    ];
    cases.push(
      {
        name: LSTM_CELL,
        inputs: { p: t([T, B, 4 * H], 1, 3, true), hw: t([B, 4 * H], 2), c: t([B, H], 3) },
        attrs: { t: 1 },
      },
      {
        name: LSTM_CELL_GRAD,
        inputs: {
          dy: t([T + 2, B, H], 4),
          dh: t([B, H], 5),
          dc: t([B, H], 6),
          gates: gates(7),
          cPrev: t([B, H], 8),
          tc: t([B, H], 9, 0.9),
        },
        attrs: { t: 1 },
      },
      {
        name: GRU_CELL,
        inputs: { p: t([T, B, 3 * H], 1, 3, true), hw: t([B, 3 * H], 2), hPrev: t([B, H], 3, 0.9) },
        attrs: { t: 1 },
      },
      {
        name: GRU_CELL,
        inputs: { p: t([T, B, 3 * H], 1, 3), hw: t([B, 3 * H], 2), hPrev: t([B, H], 3, 0.9), b: t([3 * H], 4) },
        attrs: { t: 2 },
      },
      {
        name: GRU_CELL_GRAD,
        inputs: {
          dy: t([T + 1, B, H], 4),
          dh: t([B, H], 5),
          rzn: t([B, 3 * H], 6, 0.9),
          ghn: t([B, H], 7),
          hPrev: t([B, H], 8, 0.9),
        },
        attrs: { t: 1 },
      },
      { name: RNN_CELL, inputs: { p: t([T, B, H], 1, 3, true), hw: t([B, H], 2) }, attrs: { t: 1, relu: false } },
      { name: RNN_CELL, inputs: { p: t([T, B, H], 1, 3, true), hw: t([B, H], 2) }, attrs: { t: 1, relu: true } },
      {
        name: RNN_CELL_GRAD,
        inputs: { dy: t([T + 1, B, H], 4), dh: t([B, H], 5), h: t([B, H], 6, 0.9) },
        attrs: { t: 0, relu: false },
      },
      {
        name: RNN_CELL_GRAD,
        inputs: { dy: t([T + 1, B, H], 4), dh: t([B, H], 5), h: t([B, H], 6, 0.9) },
        attrs: { t: 3, relu: true },
      },
    );
  }
  return cases;
}

function runKernel(c: KernelCase): Float32Array[] {
  const ins = Object.fromEntries(Object.entries(c.inputs).map(([k, [shape, v]]) => [k, tf.tensor(v, shape)]));
  const out = tf.engine().runKernel(c.name, ins, c.attrs as never) as tf.Tensor | tf.Tensor[];
  const outs = Array.isArray(out) ? out : [out];
  const result = outs.map((o) => Float32Array.from(o.dataSync()));
  tf.dispose([...outs, ...Object.values(ins)]);
  return result;
}

/** The op chains the kernels replace (tfjs ops, as _rnn_recurrence.ts runs them without the kernels). */
const opChain: Record<string, (x: Record<string, tf.Tensor>, attrs: Record<string, number | boolean>) => tf.Tensor[]> =
  {
    [LSTM_CELL]: ({ p, hw, c }, { t }) => {
      const [gi, gf, gg, go] = tf.split(tf.add(tf.gather(p!, t as number), hw!), 4, 1);
      const [i, f, g, o] = [tf.sigmoid(gi!), tf.sigmoid(gf!), tf.tanh(gg!), tf.sigmoid(go!)];
      const cNew = tf.add(tf.mul(f, c!), tf.mul(i, g));
      const tc = tf.tanh(cNew);
      return [tf.mul(o, tc), cNew, tf.concat([i, f, g, o], 1), tc];
    },
    [LSTM_CELL_GRAD]: ({ dy, dh: dhIn, dc, gates, cPrev, tc }, { t }) => {
      const dh = tf.add(dhIn!, tf.gather(dy!, t as number));
      const [i, f, g, o] = tf.split(gates!, 4, 1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      const dcT = tf.add(dc!, tf.mul(tf.mul(dh, o), tf.sub(1, tf.square(tc!))));
      const dGi = tf.mul(tf.mul(dcT, g), tf.mul(i, tf.sub(1, i)));
      const dGf = tf.mul(tf.mul(dcT, cPrev!), tf.mul(f, tf.sub(1, f)));
      const dGg = tf.mul(tf.mul(dcT, i), tf.sub(1, tf.square(g)));
      const dGo = tf.mul(tf.mul(dh, tc!), tf.mul(o, tf.sub(1, o)));
      return [tf.concat([dGi, dGf, dGg, dGo], 1), tf.mul(dcT, f)];
    },
    [GRU_CELL]: ({ p, hw, hPrev, b }, { t }) => {
      const H = hPrev!.shape[1]!;
      const gh = b ? tf.add(hw!, b) : hw!;
      const [ghRZ, ghN] = tf.split(gh, [2 * H, H], 1);
      const [pRZ, pN] = tf.split(tf.gather(p!, t as number), [2 * H, H], 1);
      const rz = tf.sigmoid(tf.add(pRZ!, ghRZ!));
      const [r, z] = tf.split(rz, 2, 1);
      const n = tf.tanh(tf.add(pN!, tf.mul(r!, ghN!)));
      return [tf.add(n, tf.mul(z!, tf.sub(hPrev!, n))), tf.concat([rz, n], 1), ghN!];
    },
    [GRU_CELL_GRAD]: ({ dy, dh: dhIn, rzn, ghn, hPrev }, { t }) => {
      const dh = tf.add(dhIn!, tf.gather(dy!, t as number));
      const [r, z, n] = tf.split(rzn!, 3, 1) as [tf.Tensor, tf.Tensor, tf.Tensor];
      const dnPre = tf.mul(tf.mul(dh, tf.sub(1, z)), tf.sub(1, tf.square(n)));
      const drPre = tf.mul(tf.mul(dnPre, ghn!), tf.mul(r, tf.sub(1, r)));
      const dzPre = tf.mul(tf.mul(dh, tf.sub(hPrev!, n)), tf.mul(z, tf.sub(1, z)));
      return [tf.concat([drPre, dzPre, dnPre], 1), tf.concat([drPre, dzPre, tf.mul(dnPre, r)], 1), tf.mul(dh, z)];
    },
    [RNN_CELL]: ({ p, hw }, { t, relu }) => {
      const pre = tf.add(tf.gather(p!, t as number), hw!);
      return [relu ? tf.relu(pre) : tf.tanh(pre)];
    },
    [RNN_CELL_GRAD]: ({ dy, dh: dhIn, h }, { t, relu }) => {
      const dh = tf.add(dhIn!, tf.gather(dy!, t as number));
      return [tf.mul(dh, relu ? tf.cast(tf.greater(h!, 0), "float32") : tf.sub(1, tf.square(h!)))];
    },
  };

function runOpChain(c: KernelCase): Float32Array[] {
  return tf.tidy(() => {
    const ins = Object.fromEntries(Object.entries(c.inputs).map(([k, [shape, v]]) => [k, tf.tensor(v, shape)]));
    return opChain[c.name]!(ins, c.attrs).map((o) => Float32Array.from(o.dataSync()));
  });
}

const label = (c: KernelCase) =>
  `${c.name} (${Object.keys(c.inputs).join(", ")}; ${JSON.stringify(c.attrs)}; H = ${c.inputs.hw?.[0][1] ?? c.inputs.dh?.[0][1]})`;

describe("the fused recurrent steps (recurrent_cells.ts)", () => {
  const cases = kernelCases();

  it("are registered on WASM and the pure-JS backend", () => {
    for (const backend of ["wasm", "cpu"])
      for (const name of RECURRENT_CELL_KERNELS) expect(installedKernelShims()).toContain(`${backend}/${name}`);
  });

  for (const c of cases) {
    it(`${label(c)}: WASM gives the pure-JS backend's bits`, async () => {
      await selectBackend("wasm");
      const wasm = runKernel(c);
      await selectBackend("cpu");
      const cpu = runKernel(c);
      expect(wasm.map((a) => Array.from(a))).toEqual(cpu.map((a) => Array.from(a)));
      expect(wasm.every((a) => a.length > 0)).toBe(true);
    });
  }

  for (const c of cases.filter((k) => k.name.endsWith("Grad") || k.attrs.relu === true)) {
    it(`${label(c)}: the op chain's values, bit for bit`, async () => {
      await selectBackend("cpu");
      expect(runKernel(c).map((a) => Array.from(a))).toEqual(runOpChain(c).map((a) => Array.from(a)));
    });
  }

  for (const c of cases.filter((k) => !k.name.endsWith("Grad") && k.attrs.relu !== true)) {
    it(`${label(c)}: the op chain's values within float32 noise (its sigmoid and tanh are Math.exp's and Math.tanh's)`, async () => {
      await selectBackend("cpu");
      const ours = runKernel(c);
      const ops = runOpChain(c);
      expect(ours.length).toBe(ops.length);
      ours.forEach((a, k) => {
        const b = ops[k]!;
        expect(a.length).toBe(b.length);
        for (let i = 0; i < a.length; i++) {
          if (Number.isNaN(b[i])) expect(a[i], `output ${k}[${i}]`).toBeNaN();
          else
            expect(Math.abs(a[i]! - b[i]!), `output ${k}[${i}]: ${a[i]} vs ${b[i]}`).toBeLessThanOrEqual(
              8 * ulp(Math.max(Math.abs(b[i]!), 0.5)),
            );
        }
      });
    });
  }
});

describe("nn.LSTM / GRU / RNN with fused steps against tfjs's op chain", () => {
  type Make = () => nn.Module;
  const models: Array<[string, Make, number[]]> = [
    ["LSTM, 2 layers, bidirectional", () => new nn.LSTM(5, 7, { numLayers: 2, bidirectional: true }), [6, 3, 5]],
    ["LSTM, batch first, H = 8", () => new nn.LSTM(5, 8, { batchFirst: true }), [3, 6, 5]],
    ["GRU, 2 layers, bidirectional", () => new nn.GRU(5, 7, { numLayers: 2, bidirectional: true }), [6, 3, 5]],
    ["GRU without biases", () => new nn.GRU(5, 6, { bias: false }), [6, 3, 5]],
    ["RNN tanh, 2 layers", () => new nn.RNN(5, 7, { numLayers: 2 }), [6, 3, 5]],
    ["RNN relu", () => new nn.RNN(5, 7, { nonlinearity: "relu" }), [6, 3, 5]],
    ["LSTMCell", () => new nn.LSTMCell(5, 7), [3, 5]],
    ["GRUCell", () => new nn.GRUCell(5, 7), [3, 5]],
  ];

  const train = (make: Make, shape: number[]) => {
    manualSeed(0);
    const m = make();
    const x = tf.randomNormal(shape, 0, 1.5, "float32", 7);
    const out = m.forward(x) as tf.Tensor | [tf.Tensor, unknown];
    const y = Array.isArray(out) ? out[0] : out;
    const loss = tf.sum(tf.mul(y, tf.sin(tf.range(0, y.size).reshape(y.shape))));
    (loss as unknown as { backward(): void }).backward();
    const params = m.parameters();
    const result = [Array.from(y.dataSync()), ...params.map((p) => Array.from(p.grad!.dataSync()))];
    // Everything, the model too: garbage left to the collector would be freed while a later
    // test counts tensors.
    tf.dispose([x, out as tf.Tensor, loss, ...params.map((p) => p.grad!), ...params]);
    return result;
  };

  for (const backend of ["wasm", "cpu"] as const) {
    for (const [name, make, shape] of models) {
      it(`${backend}: ${name} — outputs and every parameter's gradient within float32 noise of the op chain's`, async () => {
        await selectBackend(backend);
        const kernel = name.startsWith("LSTM") ? LSTM_CELL : name.startsWith("GRU") ? GRU_CELL : RNN_CELL;
        let fused: number[][] = [];
        expect(countCalls(kernel, backend, () => (fused = train(make, shape)))).toBeGreaterThan(0);
        const ops = withoutKernels(RECURRENT_CELL_KERNELS, backend, () => train(make, shape));
        // (ReLU has no activation to differ in: the same bits)
        expectEachWithin(fused, ops, name === "RNN relu" ? 0 : 2e-6);
      });
    }
  }

  it("16-bit emulation that rounds every op's output keeps the op chain (each op rounded)", async () => {
    await selectBackend("wasm");
    const mode = { format: "bfloat16" as const, scope: "all" as const };
    const run = () =>
      withRounding(mode, () => {
        manualSeed(0);
        const m = new nn.LSTM(5, 7);
        const x = tf.randomNormal([6, 3, 5], 0, 1, "float32", 3);
        const out = m.forward(x) as [tf.Tensor, unknown];
        const v = Array.from(out[0].dataSync());
        tf.dispose([x, out as unknown as tf.Tensor, ...m.parameters()]);
        return v;
      });
    let rounded: number[] = [];
    expect(countCalls(LSTM_CELL, "wasm", () => (rounded = run()))).toBe(0);
    expect(rounded).toEqual(withoutKernels(RECURRENT_CELL_KERNELS, "wasm", run));
  });

  it("repeated fused training steps leave no tensors or backend data behind", async () => {
    for (const backend of ["wasm", "cpu"] as const) {
      await selectBackend(backend);
      manualSeed(0);
      const built = models.map(([, make, shape]) => [make(), tf.randomNormal(shape)] as const);
      const step = () => {
        for (const [m, x] of built) {
          const out = m.forward(x) as tf.Tensor | [tf.Tensor, tf.Tensor | tf.Tensor[]];
          const loss = tf.sum(Array.isArray(out) ? out[0] : out);
          (loss as unknown as { backward(): void }).backward();
          m.zeroGrad();
          tf.dispose([loss, out as tf.Tensor]);
        }
      };
      expectStepsLeaveNothing(step);
    }
  });
});
