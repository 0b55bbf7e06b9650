/**
 * `torch.cuda.amp.GradScaler` (`torch.amp.GradScaler`): dynamic loss scaling for float16
 * training. The loss is multiplied by the scale before backward so that small gradients survive
 * float16 (whose smallest subnormal is 2^-24); before the optimizer step the gradients are
 * divided back, and a step whose gradients hold an inf or NaN is skipped and the scale backed
 * off. After `growthInterval` clean steps in a row the scale grows. Same defaults, same order
 * of calls, same errors and the same `stateDict()` keys as PyTorch's.
 */
import { tf } from "../tf.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { getGrad, setGrad } from "../autograd/grad_store.ts";
import { unscaleAndCheck } from "./amp_kernels.ts";
import type { Optimizer } from "../optim/optimizer.ts";

export interface GradScalerOptions {
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
  enabled?: boolean;
}

/** PyTorch's `state_dict()` of a GradScaler, key for key. */
export interface GradScalerState {
  scale: number;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  _growth_tracker: number;
}

type Stage = "ready" | "unscaled" | "stepped";

interface OptimizerState {
  stage: Stage;
  foundInf: boolean;
}

export class GradScaler {
  private scaleValue: number;
  private growthFactor: number;
  private backoffFactor: number;
  private growthInterval: number;
  private growthTracker = 0;
  private readonly enabled: boolean;
  private perOptimizer = new Map<Optimizer<any>, OptimizerState>();

  constructor(options: GradScalerOptions = {}) {
    this.scaleValue = options.initScale ?? 2 ** 16;
    this.growthFactor = options.growthFactor ?? 2.0;
    this.backoffFactor = options.backoffFactor ?? 0.5;
    this.growthInterval = options.growthInterval ?? 2000;
    this.enabled = options.enabled ?? true;
    if (!(this.growthFactor > 1)) throw new RangeError("GradScaler: growthFactor should be > 1");
    if (!(this.backoffFactor < 1)) throw new RangeError("GradScaler: backoffFactor should be < 1");
    if (!Number.isInteger(this.growthInterval) || this.growthInterval <= 0)
      throw new RangeError("GradScaler: growthInterval should be a positive integer");
  }

  isEnabled(): boolean {
    return this.enabled;
  }

  /** The current scale (1 when disabled). */
  getScale(): number {
    return this.enabled ? this.scaleValue : 1.0;
  }

  /** The loss times the scale (recorded for backward); the loss itself when disabled. */
  scale(loss: tf.Tensor): tf.Tensor {
    if (!this.enabled) return loss;
    return tf.mul(loss, tf.scalar(this.scaleValue, "float32"));
  }

  /**
   * Divides the optimizer's gradients by the scale, in place, and records whether any of them
   * is inf or NaN. Once per optimizer between two `update()` calls.
   */
  unscale(optimizer: Optimizer<any>): void {
    if (!this.enabled) return;
    const state = this.stateOf(optimizer);
    if (state.stage === "unscaled")
      throw new Error("unscale() has already been called on this optimizer since the last update().");
    if (state.stage === "stepped") throw new Error("unscale() is being called after step().");
    // As PyTorch: the reciprocal taken in double precision, then used as a float32.
    const inv = Math.fround(1 / this.scaleValue);
    let foundInf = false;
    noGrad(() => {
      for (const group of optimizer.paramGroups) {
        for (const p of group.params) {
          const g = getGrad(p);
          if (g == null) continue;
          const { unscaled, nonFinite } = unscaleAndCheck(g, inv);
          setGrad(p, unscaled);
          if (nonFinite) foundInf = true;
        }
      }
    });
    state.foundInf = foundInf;
    state.stage = "unscaled";
  }

  /** Unscales if not done yet, then steps the optimizer unless a gradient was inf/NaN. Returns whether it stepped. */
  step(optimizer: Optimizer<any>, closure?: () => unknown): boolean {
    if (!this.enabled) {
      optimizer.step(closure);
      return true;
    }
    if (closure !== undefined) throw new Error("Closure use is not currently supported if GradScaler is enabled.");
    const state = this.stateOf(optimizer);
    if (state.stage === "stepped") throw new Error("step() has already been called since the last update().");
    if (state.stage === "ready") this.unscale(optimizer);
    const stepped = !state.foundInf;
    if (stepped) optimizer.step();
    state.stage = "stepped";
    return stepped;
  }

  /**
   * Updates the scale for the next iteration: backed off if any optimizer's gradients were inf
   * or NaN this iteration, grown after `growthInterval` clean iterations in a row; or set to
   * `newScale`.
   */
  update(newScale?: number): void {
    if (!this.enabled) return;
    if (newScale !== undefined) {
      if (!(newScale > 0))
        throw new RangeError(`GradScaler.update(): newScale must be a positive number, got ${newScale}`);
      this.scaleValue = newScale;
    } else {
      const states = [...this.perOptimizer.values()];
      if (states.length === 0) throw new Error("No inf checks were recorded prior to update.");
      if (states.some((s) => s.foundInf)) {
        this.scaleValue *= this.backoffFactor;
        this.growthTracker = 0;
      } else if (++this.growthTracker === this.growthInterval) {
        this.scaleValue *= this.growthFactor;
        this.growthTracker = 0;
      }
    }
    this.perOptimizer = new Map();
  }

  /** Whether the last `unscale()` of this optimizer found an inf or NaN (its step is skipped). */
  foundInf(optimizer: Optimizer<any>): boolean {
    return this.perOptimizer.get(optimizer)?.foundInf ?? false;
  }

  /** Whether `unscale()` ran for this optimizer since the last `update()`. */
  isUnscaled(optimizer: Optimizer<any>): boolean {
    const stage = this.perOptimizer.get(optimizer)?.stage;
    return stage === "unscaled" || stage === "stepped";
  }

  stateDict(): GradScalerState | Record<string, never> {
    if (!this.enabled) return {};
    return {
      scale: this.scaleValue,
      growth_factor: this.growthFactor,
      backoff_factor: this.backoffFactor,
      growth_interval: this.growthInterval,
      _growth_tracker: this.growthTracker,
    };
  }

  loadStateDict(state: Partial<GradScalerState>): void {
    if (!this.enabled) return;
    if (Object.keys(state).length === 0) {
      throw new Error(
        "The source state dict is empty, possibly because it was saved from a disabled instance of GradScaler.",
      );
    }
    if (typeof state.scale === "number") this.scaleValue = state.scale;
    if (typeof state.growth_factor === "number") this.growthFactor = state.growth_factor;
    if (typeof state.backoff_factor === "number") this.backoffFactor = state.backoff_factor;
    if (typeof state.growth_interval === "number") this.growthInterval = state.growth_interval;
    if (typeof state._growth_tracker === "number") this.growthTracker = state._growth_tracker;
  }

  private stateOf(optimizer: Optimizer<any>): OptimizerState {
    let s = this.perOptimizer.get(optimizer);
    if (!s) {
      s = { stage: "ready", foundInf: false };
      this.perOptimizer.set(optimizer, s);
    }
    return s;
  }
}
