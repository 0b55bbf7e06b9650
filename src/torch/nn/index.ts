/**
 * `nn`: modules, layers, initialisation and utilities, mirroring `torch.nn`. Constructors take
 * PyTorch's positional arguments plus one trailing camelCase options object.
 */
export { Module } from "./module";
export { Parameter } from "./parameter";
export * as init from "./init";
export * as utils from "./utils/index";
export * as functional from "../functional/index";

export { Linear, Identity, type LinearOptions } from "./layers/linear";
export { Conv1d, Conv2d, type Conv1dOptions, type Conv2dOptions, type PaddingMode } from "./layers/conv";
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from "./layers/pooling";
export { Dropout, Dropout2d, type DropoutLayerOptions } from "./layers/dropout";
export { BatchNorm1d, BatchNorm2d, type BatchNormOptions } from "./layers/batchnorm";
export { LayerNorm, type LayerNormOptions } from "./layers/layernorm";
export { Embedding, type EmbeddingLayerOptions, type FromPretrainedOptions } from "./layers/embedding";
export { RNNBase, RNN, LSTM, GRU, type RNNBaseOptions, type RNNOptions } from "./layers/rnn";
export { RNNCellBase, RNNCell, LSTMCell, GRUCell, type RNNCellOptions, type RNNCellNonlinearityOptions } from "./layers/rnn_cell";
export { Flatten, Unflatten, type FlattenOptions } from "./layers/flatten";
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
} from "./layers/activation";
export { Sequential, ModuleList, ModuleDict } from "./layers/container";
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
} from "./layers/loss";
export { fromLayers, LayersModule } from "./layers/from_layers";
export {
  MultiheadAttention,
  NonDynamicallyQuantizableLinear,
  type MultiheadAttentionOptions,
  type MultiheadAttentionForwardOptions,
} from "./layers/attention";
export {
  TransformerEncoderLayer,
  TransformerEncoder,
  type TransformerActivation,
  type TransformerEncoderLayerOptions,
  type TransformerEncoderLayerForwardOptions,
  type TransformerEncoderOptions,
  type TransformerEncoderForwardOptions,
} from "./layers/transformer";
export { ConvTranspose2d, type ConvTranspose2dOptions } from "./layers/conv_transpose";
export { PixelShuffle, PixelUnshuffle } from "./layers/pixel_shuffle";
export {
  Upsample,
  UpsamplingNearest2d,
  UpsamplingBilinear2d,
  type UpsampleOptions,
  type UpsamplingOptions,
} from "./layers/upsample";
export { GroupNorm, type GroupNormOptions } from "./layers/groupnorm";
export { InstanceNorm2d, type InstanceNormOptions } from "./layers/instancenorm";
