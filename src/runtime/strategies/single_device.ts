import { tf } from "../../torch/tf.ts";
import { Device, type DeviceLike } from "../../torch/device.ts";
import { noGrad } from "../../torch/autograd/grad_mode.ts";
import type { Accelerator } from "../accelerators/accelerator.ts";
import type { Precision } from "../plugins/precision/precision.ts";
import { Strategy, gatherOne, type ReduceOp } from "./strategy.ts";

/**
 * One process, one device (Fabric's `SingleDeviceStrategy`): rank 0 of a world of 1. The
 * collectives keep their multi-process shapes — `allGather` adds the world dimension (of size
 * 1) — so code written against them runs unchanged under DDP.
 */
export class SingleDeviceStrategy extends Strategy {
  readonly name: string = "single";
  private readonly device: Device;

  constructor(device: DeviceLike = "cpu", options: { accelerator?: Accelerator; precision?: Precision } = {}) {
    super(options);
    this.device = new Device(device);
  }

  get rootDevice(): Device {
    return this.device;
  }

  get globalRank(): number {
    return 0;
  }

  get localRank(): number {
    return 0;
  }

  get nodeRank(): number {
    return 0;
  }

  get worldSize(): number {
    return 1;
  }

  /** Every reduction (mean, sum, max, min) over one process is the tensor itself. */
  allReduce(tensor: tf.Tensor, _op: ReduceOp): tf.Tensor {
    return tensor;
  }

  allGather(tensor: tf.Tensor, syncGrads: boolean): tf.Tensor {
    // Without syncGrads a gathered tensor carries no gradient, as under DDP.
    return syncGrads ? gatherOne(tensor) : noGrad(() => gatherOne(tensor));
  }

  broadcast<T>(value: T, _src: number): T {
    return value;
  }

  barrier(_name?: string): void {}
}
