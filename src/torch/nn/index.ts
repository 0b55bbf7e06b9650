/**
 * `nn`: modules, layers, initialisation and utilities, mirroring `torch.nn`. Constructors take
 * PyTorch's positional arguments plus one trailing camelCase options object.
 */
export { Module } from "./module.ts";
export { Parameter } from "./parameter.ts";
export * as init from "./init.ts";
export * as utils from "./utils/index.ts";
export * as functional from "../functional/index.ts";

export { Linear, Identity, type LinearOptions } from "./layers/linear.ts";
export { Conv1d, Conv2d, type Conv1dOptions, type Conv2dOptions, type PaddingMode } from "./layers/conv.ts";
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from "./layers/pooling.ts";
export { Dropout, Dropout2d, type DropoutLayerOptions } from "./layers/dropout.ts";
export { BatchNorm1d, BatchNorm2d, type BatchNormOptions } from "./layers/batchnorm.ts";
export { LayerNorm, type LayerNormOptions } from "./layers/layernorm.ts";
export { Embedding, type EmbeddingLayerOptions, type FromPretrainedOptions } from "./layers/embedding.ts";
export { RNNBase, RNN, LSTM, GRU, type RNNBaseOptions, type RNNOptions } from "./layers/rnn.ts";
export { RNNCellBase, RNNCell, LSTMCell, GRUCell, type RNNCellOptions, type RNNCellNonlinearityOptions } from "./layers/rnn_cell.ts";
export { Flatten, Unflatten, type FlattenOptions } from "./layers/flatten.ts";
export {
  ReLU,
  ReLU6,
  LeakyReLU,
  ELU,
  SELU,
  GELU,
  SiLU,
  Sigmoid,
  Tanh,
  Softplus,
  Softmax,
  LogSoftmax,
} from "./layers/activation.ts";
export { Sequential, ModuleList, ModuleDict } from "./layers/container.ts";
export {
  CrossEntropyLoss,
  NLLLoss,
  MSELoss,
  L1Loss,
  SmoothL1Loss,
  HuberLoss,
  BCELoss,
  BCEWithLogitsLoss,
  KLDivLoss,
  type CrossEntropyLossOptions,
  type NLLLossOptions,
  type WeightedLossOptions,
  type BCEWithLogitsLossOptions,
} from "./layers/loss.ts";
export { fromLayers, LayersModule } from "./layers/from_layers.ts";
export {
  MultiheadAttention,
  NonDynamicallyQuantizableLinear,
  type MultiheadAttentionOptions,
  type MultiheadAttentionForwardOptions,
} from "./layers/attention.ts";
export {
  TransformerEncoderLayer,
  TransformerEncoder,
  type TransformerActivation,
  type TransformerEncoderLayerOptions,
  type TransformerEncoderLayerForwardOptions,
  type TransformerEncoderOptions,
  type TransformerEncoderForwardOptions,
} from "./layers/transformer.ts";
export { ConvTranspose2d, type ConvTranspose2dOptions } from "./layers/conv_transpose.ts";
export { PixelShuffle, PixelUnshuffle } from "./layers/pixel_shuffle.ts";
export {
  Upsample,
  UpsamplingNearest2d,
  UpsamplingBilinear2d,
  type UpsampleOptions,
  type UpsamplingOptions,
} from "./layers/upsample.ts";
export { GroupNorm, type GroupNormOptions } from "./layers/groupnorm.ts";
export { InstanceNorm2d, type InstanceNormOptions } from "./layers/instancenorm.ts";
