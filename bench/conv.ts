/**
 * WASM's convolution kernels of our own (src/torch/backends/kernels/conv_gemm_simd.wat) against
 * the paths they replace, interleaved in one run: `Conv2D` as packed-panel products against
 * XNNPACK's (tfjs's own kernel, swapped back in), and the filter gradient's product per run of
 * images against XNNPACK's matMul per run (the path a multi-threaded backend takes), on the
 * benchmark CNN's layers and a few common shapes, batch 64 unless said. Both sides give the same
 * bits; the bench checks that too.
 *
 *   npx tsx bench/conv.ts                   (BENCH_ROUNDS=7)
 *
 * Each case: the median over rounds of each side's mean ms per call; the ratio old / new.
 */
import { selectBackend, tf } from "../src/torch/index.ts";
import { withOriginalKernels } from "../src/torch/backends/kernels/index.ts";
import { filterGradientPanels } from "../src/torch/backends/kernels/conv2d_backprop_filter.ts";
import { median, perCall } from "./stats.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

interface Case {
  name: string;
  x: number[];
  filter: number[];
  strides: number;
}

const CASES: Case[] = [
  { name: "CNN conv2 32→64, 14×14", x: [64, 14, 14, 32], filter: [3, 3, 32, 64], strides: 1 },
  {
    name: "64→32, 14×14 (CNN conv2's input gradient as a conv)",
    x: [64, 14, 14, 64],
    filter: [3, 3, 64, 32],
    strides: 1,
  },
  { name: "ResNet stage 64→64, 16×16, batch 16", x: [16, 16, 16, 64], filter: [3, 3, 64, 64], strides: 1 },
  { name: "ResNet downsample 64→128 stride 2, batch 16", x: [16, 32, 32, 64], filter: [3, 3, 64, 128], strides: 2 },
];

function time(fn: () => tf.Tensor): number {
  return perCall(() => fn().dispose(), 3);
}

function sameBits(a: tf.Tensor, b: tf.Tensor): boolean {
  const [x, y] = [a.dataSync(), b.dataSync()];
  const same = x.length === y.length && x.every((v, i) => Object.is(v, y[i]));
  tf.dispose([a, b]);
  return same;
}

await selectBackend("wasm");
console.log(`WASM convolutions, ours against XNNPACK (median of ${ROUNDS} interleaved rounds, ms per call):`);
for (const c of CASES) {
  const x = tf.randomNormal(c.x as [number, number, number, number]) as tf.Tensor4D;
  const filter = tf.randomNormal(c.filter as [number, number, number, number]) as tf.Tensor4D;
  const [fh, fw, , k] = c.filter;
  const dy = tf.randomNormal([
    c.x[0]!,
    Math.ceil(c.x[1]! / c.strides),
    Math.ceil(c.x[2]! / c.strides),
    k!,
  ]) as tf.Tensor4D;
  const conv = () => tf.conv2d(x, filter, c.strides, "same");
  const attrs = { strides: c.strides, pad: "same", dataFormat: "NHWC", dilations: 1, filterShape: [fh, fw, c.x[3], k] };
  const grad = () => tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, attrs as never) as tf.Tensor;
  const matMulPath = <T>(fn: () => T): T => {
    filterGradientPanels.enabled = false;
    try {
      return fn();
    } finally {
      filterGradientPanels.enabled = true;
    }
  };
  const bits = sameBits(conv(), withOriginalKernels("wasm", conv)) && sameBits(grad(), matMulPath(grad));
  const t = { xnn: [] as number[], ours: [] as number[], mm: [] as number[], panels: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    t.xnn.push(withOriginalKernels("wasm", () => time(conv)));
    t.ours.push(time(conv));
    t.mm.push(matMulPath(() => time(grad)));
    t.panels.push(time(grad));
  }
  const [xnn, ours, mm, panels] = [median(t.xnn), median(t.ours), median(t.mm), median(t.panels)];
  console.log(
    `  ${c.name.padEnd(54)} Conv2D  XNNPACK ${xnn.toFixed(2)}  ours ${ours.toFixed(2)}  ${(xnn / ours).toFixed(2)}x   ` +
      `filter gradient  matMul ${mm.toFixed(2)}  panels ${panels.toFixed(2)}  ${(mm / panels).toFixed(2)}x   ${bits ? "same bits" : "BITS DIFFER"}`,
  );
  tf.dispose([x, filter, dy]);
}
