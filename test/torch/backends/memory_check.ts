import { expect } from "vitest";
import { tf } from "./parity";
import { collectGarbage } from "../../../src/torch/autograd/lifetime";

/**
 * Runs `step` once (to let caches and lazily made tensors settle), then twice more, and expects
 * the engine's tensor count and the backend's data ids to be where they were after the first.
 * Each count follows a collection: the torch layer frees unreferenced tensors when the garbage
 * collector finds them, which would otherwise move the counts at random.
 */
export function expectStepsLeaveNothing(step: () => void): void {
  step();
  collectGarbage();
  const tensors = tf.memory().numTensors;
  const dataIds = tf.backend().numDataIds();
  step();
  step();
  collectGarbage();
  expect(tf.memory().numTensors).toBe(tensors);
  expect(tf.backend().numDataIds()).toBe(dataIds);
}
