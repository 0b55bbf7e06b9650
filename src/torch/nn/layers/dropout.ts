import { tf } from "../../tf.ts";
import { Module } from "../module.ts";
import { dropout, dropout2d, checkDropoutP } from "../../functional/dropout.ts";

export interface DropoutLayerOptions {
  p?: number;
  /** Accepted for PyTorch compatibility; tfjs tensors are immutable, so it changes nothing. */
  inplace?: boolean;
}

function resolveP(p: number | DropoutLayerOptions | undefined, layer: string): number {
  const value = typeof p === "number" ? p : (p?.p ?? 0.5);
  checkDropoutP(value, layer);
  return value;
}

/**
 * `nn.Dropout(p = 0.5)`: in training mode zeroes each element with probability p and scales
 * the rest by 1 / (1 - p); in eval mode the identity. Masks come from the random-ops stream.
 */
export class Dropout extends Module {
  readonly p: number;

  /** `inplace` (positional or `{ inplace }`) is accepted for PyTorch compatibility and ignored. */
  constructor(p: number | DropoutLayerOptions = 0.5, _inplace?: boolean | { inplace?: boolean }) {
    super();
    this.p = resolveP(p, "Dropout");
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return dropout(x, { p: this.p, training: this.training });
  }

  override extraRepr(): string {
    return `p=${this.p}, inplace=False`;
  }
}

/** `nn.Dropout2d(p = 0.5)`: zeroes whole channels of [N, C, H, W] input. */
export class Dropout2d extends Module {
  readonly p: number;

  /** `inplace` (positional or `{ inplace }`) is accepted for PyTorch compatibility and ignored. */
  constructor(p: number | DropoutLayerOptions = 0.5, _inplace?: boolean | { inplace?: boolean }) {
    super();
    this.p = resolveP(p, "Dropout2d");
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return dropout2d(x, { p: this.p, training: this.training });
  }

  override extraRepr(): string {
    return `p=${this.p}, inplace=False`;
  }
}
