// 16-bit rounding and GradScaler's unscale on the backend LIGHTNING_TS_BACKEND names, for
// webgpu.slow.test.ts to compare bit for bit with WASM: ties to even, 65504, 65520 → inf, fp16
// subnormals and their underflow, NaN and ±inf, bf16 of 1 + 2^-8 and 1 + 3·2^-9, huge and tiny
// float32 values, and a spread of random ones.
import { tf, ready, amp, Generator } from "lightning-ts/torch";

await ready();
const special = [
  0, -0, 1, -1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65519.99, 65520, -65520, 70000, 2 ** -14, 2 ** -24, 2 ** -25, 1.5 * 2 ** -25, 3 * 2 ** -26,
  2 ** -26, 1e-10, Infinity, -Infinity, NaN, 1 + 2 ** -8, 1 + 3 * 2 ** -9, 3.4e38, -3.4e38, 1e-38, 1e-40, 1.4e-45, 0.1, 1 / 3,
];
const gen = new Generator(5);
const random = Array.from({ length: 4096 }, () => gen.normal() * 10 ** Math.floor(gen.uniform(-12, 12)));
const values = new Float32Array([...special, ...random]);
const bitsOf = (t: tf.Tensor) => Array.from(new Uint32Array(new Float32Array(t.dataSync()).buffer));
const out: Record<string, unknown> = {};
for (const format of ["float16", "bfloat16"] as const) out[format] = bitsOf(amp.roundTensorToHalf(tf.tensor1d(values), format));
const grads = tf.tensor1d(random.slice(0, 1000).map((v) => v * 3));
const finite = amp.unscaleAndCheck(grads, 1 / 65536);
const withInf = amp.unscaleAndCheck(tf.tensor1d([1, 2, Infinity, 4]), 0.5);
const withNaN = amp.unscaleAndCheck(tf.tensor1d([1, NaN]), 0.5);
out.unscaled = bitsOf(finite.unscaled);
out.nonFinite = [finite.nonFinite, withInf.nonFinite, withNaN.nonFinite];
console.log(`ROUNDING ${tf.getBackend()} ${JSON.stringify(out)}`);
