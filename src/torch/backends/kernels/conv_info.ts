import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import type { KernelContext } from "./kernel_context.ts";

/**
 * Channels-last views of a convolution's tensors and its geometry, shared by the conv
 * gradient shims. tfjs's WASM convolutions are channels-last only, and the shims' loops are
 * written once for that layout: an NCHW tensor is transposed on the way in (and the result on
 * the way out), which costs one pass over memory against the convolution's many.
 */
export type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

type Pad = "valid" | "same" | number | [[number, number], [number, number], [number, number], [number, number]];
type RoundingMode = "floor" | "round" | "ceil" | undefined;
type Pair = number | [number, number];

export function isChannelsFirst(attrs: NamedAttrMap): boolean {
  return attrs.dataFormat === "NCHW";
}

/** `t` in NHWC: a transposed intermediate when the kernel was called with NCHW. */
export function toChannelsLast(ctx: KernelContext, t: TensorInfo, channelsFirst: boolean): TensorInfo {
  return channelsFirst ? ctx.run("Transpose", { x: t }, { perm: [0, 2, 3, 1] }) : t;
}

/** An NHWC result in the layout the kernel was called with. */
export function fromChannelsLast(ctx: KernelContext, t: TensorInfo, channelsFirst: boolean): TensorInfo {
  return channelsFirst ? ctx.run("Transpose", { x: t }, { perm: [0, 3, 1, 2] }) : t;
}

/** An NCHW shape as NHWC (unchanged when already channels-last). */
export function shapeToChannelsLast(shape: number[], channelsFirst: boolean): [number, number, number, number] {
  const [a, b, c, d] = shape;
  return channelsFirst ? [a, c, d, b] : [a, b, c, d];
}

/** Geometry of a channels-last convolution from a kernel's attributes. */
export function convInfo(
  inShapeNHWC: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: NamedAttrMap,
  depthwise: boolean,
): Conv2DInfo {
  const dilations = (attrs.dilations ?? 1) as Pair;
  return tf.backend_util.computeConv2DInfo(
    inShapeNHWC,
    filterShape,
    attrs.strides as Pair,
    dilations,
    attrs.pad as Pad,
    attrs.dimRoundingMode as RoundingMode,
    depthwise,
    "channelsLast",
  );
}
