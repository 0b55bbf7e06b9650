import { tf } from "../../tf.ts";
import { Module } from "../module.ts";
import { flatten, unflatten } from "../../functional/shape.ts";

export interface FlattenOptions {
  startDim?: number;
  endDim?: number;
}

/**
 * `nn.Flatten({ startDim = 1, endDim = -1 })`: keeps the batch dimension and merges the rest
 * (note: `F.flatten` starts at 0, like `torch.flatten`). `new nn.Flatten(0, -1)` also works.
 */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;

  constructor(startDim: number | FlattenOptions = {}, endDim?: number) {
    super();
    const o = typeof startDim === "number" ? { startDim, endDim } : startDim;
    this.startDim = o.startDim ?? 1;
    this.endDim = o.endDim ?? -1;
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return flatten(x, this.startDim, this.endDim);
  }

  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** `nn.Unflatten(dim, sizes)`: splits one dimension into `sizes`. */
export class Unflatten extends Module {
  readonly dim: number;
  readonly unflattenedSize: number[];

  constructor(dim: number, unflattenedSize: number[]) {
    super();
    this.dim = dim;
    this.unflattenedSize = [...unflattenedSize];
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return unflatten(x, this.dim, this.unflattenedSize);
  }

  override extraRepr(): string {
    return `dim=${this.dim}, unflattened_size=(${this.unflattenedSize.join(", ")})`;
  }
}
