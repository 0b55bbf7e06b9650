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
} from "./activation";
export { dropout, dropout2d, type DropoutOptions } from "./dropout";
export { linear } from "./linear";
export { conv1d, conv2d, type Conv1dOptions, type Conv2dOptions, type ConvPadding } from "./conv";
export { maxPool2d, avgPool2d, adaptiveAvgPool2d, type MaxPool2dOptions, type AvgPool2dOptions } from "./pooling";
export { batchNorm, layerNorm, type BatchNormOptions, type LayerNormOptions } from "./normalization";
export { embedding, type EmbeddingOptions } from "./embedding";
export { crossEntropy, nllLoss, type CrossEntropyOptions, type NllLossOptions } from "./loss_classification";
export {
  mseLoss,
  l1Loss,
  smoothL1Loss,
  huberLoss,
  type RegressionLossOptions,
  type SmoothL1LossOptions,
  type HuberLossOptions,
} from "./loss_regression";
export {
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  type BinaryCrossEntropyOptions,
  type BinaryCrossEntropyWithLogitsOptions,
} from "./loss_binary";
export { klDiv, type KlDivOptions } from "./loss_kl";
export { flatten, unflatten, oneHot, pad, type PadMode, type PadOptions } from "./shape";
export { scaledDotProductAttention, type ScaledDotProductAttentionOptions } from "./attention";
export { convTranspose2d, type ConvTranspose2dOptions } from "./conv_transpose";
export { pixelShuffle, pixelUnshuffle } from "./pixel_shuffle";
export { interpolate, type InterpolateOptions, type InterpolateMode } from "./interpolate";
export { groupNorm, type GroupNormOptions } from "./group_norm";
export { instanceNorm, type InstanceNormOptions } from "./instance_norm";
export {
  cosineSimilarity,
  pairwiseDistance,
  type CosineSimilarityOptions,
  type PairwiseDistanceOptions,
} from "./distance";
export type { Reduction, IntPair } from "./_util";
