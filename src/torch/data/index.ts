/**
 * `data`: datasets, samplers and the DataLoader (`torch.utils.data`), plus readers for the
 * MNIST-format image sets and a synthetic classification set.
 */
export { Dataset, TensorDataset, Subset, ConcatDataset, hasGetBatch } from "./dataset";
export type { BatchedDataset, TensorRows } from "./dataset";
export { randomSplit } from "./random_split";
export { defaultCollate, type Collated } from "./collate";
export {
  Sampler,
  SequentialSampler,
  RandomSampler,
  SubsetRandomSampler,
  BatchSampler,
  type RandomSamplerOptions,
  type Sized,
} from "./sampler";
export { DistributedSampler, type DistributedSamplerOptions } from "./distributed";
export { DataLoader, type DataLoaderOptions, type DefaultBatch } from "./dataloader";
export { SyntheticClassification, type SyntheticClassificationOptions } from "./synthetic";
export { MNIST, FashionMNIST, type MNISTLoadOptions, type MNISTSplit } from "./mnist";
export { parseIdx, encodeIdx, readIdxFile, idxMagic, IdxFormatError, type IdxData, type IdxType } from "./idx";
