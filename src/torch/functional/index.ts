/**
 * `F`: `torch.nn.functional` for lightning-ts. Stateless ops on tfjs tensors with PyTorch's
 * semantics (NCHW layouts, class dimension 1, PyTorch's reductions and defaults); optional
 * arguments go in one trailing camelCase options object.
 */
export {
  relu,
  relu6,
  leakyRelu,
  elu,
  selu,
  gelu,
  silu,
  sigmoid,
  logsigmoid,
  tanh,
  softplus,
  softmax,
  logSoftmax,
  normalize,
  type GeluOptions,
  type SoftplusOptions,
  type NormalizeOptions,
} from "./activation.ts";
export { dropout, dropout2d, type DropoutOptions } from "./dropout.ts";
export { linear } from "./linear.ts";
export { conv1d, conv2d, type Conv1dOptions, type Conv2dOptions, type ConvPadding } from "./conv.ts";
export { maxPool2d, avgPool2d, adaptiveAvgPool2d, type MaxPool2dOptions, type AvgPool2dOptions } from "./pooling.ts";
export { batchNorm, layerNorm, type BatchNormOptions, type LayerNormOptions } from "./normalization.ts";
export { embedding, type EmbeddingOptions } from "./embedding.ts";
export { crossEntropy, nllLoss, type CrossEntropyOptions, type NllLossOptions } from "./loss_classification.ts";
export {
  mseLoss,
  l1Loss,
  smoothL1Loss,
  huberLoss,
  type RegressionLossOptions,
  type SmoothL1LossOptions,
  type HuberLossOptions,
} from "./loss_regression.ts";
export {
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  type BinaryCrossEntropyOptions,
  type BinaryCrossEntropyWithLogitsOptions,
} from "./loss_binary.ts";
export { klDiv, type KlDivOptions } from "./loss_kl.ts";
export { flatten, unflatten, oneHot, pad, type PadMode, type PadOptions } from "./shape.ts";
export { scaledDotProductAttention, type ScaledDotProductAttentionOptions } from "./attention.ts";
export { convTranspose2d, type ConvTranspose2dOptions } from "./conv_transpose.ts";
export { pixelShuffle, pixelUnshuffle } from "./pixel_shuffle.ts";
export { interpolate, type InterpolateOptions, type InterpolateMode } from "./interpolate.ts";
export { groupNorm, type GroupNormOptions } from "./group_norm.ts";
export { instanceNorm, type InstanceNormOptions } from "./instance_norm.ts";
export {
  cosineSimilarity,
  pairwiseDistance,
  type CosineSimilarityOptions,
  type PairwiseDistanceOptions,
} from "./distance.ts";
export type { Reduction, IntPair } from "./_util.ts";
