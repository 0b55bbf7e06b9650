/**
 * `data`: datasets, samplers and the DataLoader (`torch.utils.data`), plus readers for the
 * MNIST-format image sets and a synthetic classification set.
 */
export { Dataset, TensorDataset, Subset, ConcatDataset, hasGetBatch } from "./dataset.ts";
export type { BatchedDataset, TensorRows } from "./dataset.ts";
export { randomSplit } from "./random_split.ts";
export { defaultCollate, type Collated } from "./collate.ts";
export {
  Sampler,
  SequentialSampler,
  RandomSampler,
  SubsetRandomSampler,
  BatchSampler,
  type RandomSamplerOptions,
  type Sized,
} from "./sampler.ts";
export { DistributedSampler, type DistributedSamplerOptions } from "./distributed.ts";
export { DataLoader, type DataLoaderOptions, type DefaultBatch } from "./dataloader.ts";
export { SyntheticClassification, type SyntheticClassificationOptions } from "./synthetic.ts";
export { MNIST, FashionMNIST, type MNISTLoadOptions, type MNISTSplit } from "./mnist.ts";
export { parseIdx, encodeIdx, readIdxFile, idxMagic, IdxFormatError, type IdxData, type IdxType } from "./idx.ts";
