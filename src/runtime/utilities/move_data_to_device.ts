import { tf } from "../../torch/tf.ts";
import type { Device } from "../../torch/device.ts";
import { applyToCollection } from "./apply_to_collection.ts";

export function isTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor;
}

/**
 * Lightning's `move_data_to_device` for a batch (a tensor or a nested collection of them).
 * Tensors live on the active tfjs backend, so `tensor.to(device)` returns the tensor itself; it
 * still goes through the torch layer's move so a GPU that is not there is reported once, the
 * same as in a plain script.
 */
export function moveDataToDevice<T>(batch: T, device: Device): T {
  return applyToCollection(batch, isTensor, (t: tf.Tensor) => t.to(device));
}
