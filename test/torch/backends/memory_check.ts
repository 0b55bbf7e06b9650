import { expect } from "vitest";
import { tf } from "./parity";

/**
 * Runs `step` once (to let caches and lazily made tensors settle), then twice more, and expects
 * the engine's tensor count and the backend's data ids to be where they were after the first.
 */
export function expectStepsLeaveNothing(step: () => void): void {
  step();
  const tensors = tf.memory().numTensors;
  const dataIds = tf.backend().numDataIds();
  step();
  step();
  expect(tf.memory().numTensors).toBe(tensors);
  expect(tf.backend().numDataIds()).toBe(dataIds);
}
