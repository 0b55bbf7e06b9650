/**
 * GradScaler against PyTorch's documented algorithm (torch/cuda/amp/grad_scaler.py and
 * `_amp_update_scale_`): scale the loss, unscale with a float32 reciprocal, skip the step on an
 * inf/NaN gradient and back off, grow after `growthInterval` clean steps; its call-order errors
 * and its state_dict keys.
 */
import { describe, expect, it } from "vitest";
import { tf, nn, optim, amp } from "lightning-ts/torch";

const { GradScaler } = amp;

function setup(lr = 0.1) {
  const lin = new nn.Linear(3, 2);
  const opt = new optim.SGD(lin.parameters(), { lr });
  const x = tf.tensor2d([[1, 2, 3], [0.5, -1, 2]]);
  return { lin, opt, x };
}

function weights(lin: nn.Linear): number[] {
  return Array.from(lin.weight.dataSync());
}

describe("GradScaler", () => {
  it("scales the loss, so the gradients arrive multiplied by the scale, and unscale brings them back", () => {
    const { lin, opt, x } = setup();
    const scaler = new GradScaler({ initScale: 1024 });
    lin.forward(x).sum().backward();
    const plain = Array.from(lin.weight.grad!.dataSync());
    opt.zeroGrad();
    scaler.scale(lin.forward(x).sum()).backward();
    expect(Array.from(lin.weight.grad!.dataSync())).toEqual(plain.map((g) => g * 1024));
    scaler.unscale(opt);
    expect(Array.from(lin.weight.grad!.dataSync())).toEqual(plain);
    expect(scaler.foundInf(opt)).toBe(false);
  });

  it("an inf gradient: the step is skipped, the weights unchanged, the scale halved, the growth count reset", () => {
    const { lin, opt, x } = setup();
    const scaler = new GradScaler({ initScale: 2 ** 16, growthInterval: 3 });
    const step = (inject: boolean) => {
      opt.zeroGrad();
      let loss = lin.forward(x).sum();
      if (inject) loss = loss.mul(tf.scalar(Infinity));
      scaler.scale(loss).backward();
      return scaler.step(opt);
    };
    expect(step(false)).toBe(true);
    scaler.update();
    expect(scaler.stateDict()).toMatchObject({ scale: 2 ** 16, _growth_tracker: 1 });
    const before = weights(lin);
    expect(step(true)).toBe(false);
    expect(scaler.foundInf(opt)).toBe(true);
    expect(weights(lin)).toEqual(before);
    scaler.update();
    expect(scaler.getScale()).toBe(2 ** 15);
    expect(scaler.stateDict()).toMatchObject({ _growth_tracker: 0 });
  });

  it("grows the scale by growthFactor after growthInterval clean steps in a row", () => {
    const { lin, opt, x } = setup();
    const scaler = new GradScaler({ initScale: 8, growthInterval: 3, growthFactor: 4 });
    const scales: number[] = [];
    for (let i = 0; i < 7; i++) {
      opt.zeroGrad();
      scaler.scale(lin.forward(x).sum()).backward();
      scaler.step(opt);
      scaler.update();
      scales.push(scaler.getScale());
    }
    expect(scales).toEqual([8, 8, 32, 32, 32, 128, 128]);
  });

  it("refuses PyTorch's wrong call orders and closures", () => {
    const { lin, opt, x } = setup();
    const scaler = new GradScaler();
    scaler.scale(lin.forward(x).sum()).backward();
    scaler.unscale(opt);
    expect(() => scaler.unscale(opt)).toThrow("unscale() has already been called on this optimizer since the last update().");
    scaler.step(opt);
    expect(() => scaler.step(opt)).toThrow("step() has already been called since the last update().");
    expect(() => scaler.unscale(opt)).toThrow("unscale() is being called after step().");
    scaler.update();
    expect(() => scaler.step(opt, () => 0)).toThrow("Closure use is not currently supported if GradScaler is enabled.");
    expect(() => new GradScaler().update()).toThrow("No inf checks were recorded prior to update.");
  });

  it("stateDict has PyTorch's keys and a round trip restores the scale and the growth count", () => {
    const scaler = new GradScaler({ initScale: 512, growthInterval: 10 });
    const { lin, opt, x } = setup();
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad();
      scaler.scale(lin.forward(x).sum()).backward();
      scaler.step(opt);
      scaler.update();
    }
    const state = scaler.stateDict();
    expect(state).toEqual({ scale: 512, growth_factor: 2, backoff_factor: 0.5, growth_interval: 10, _growth_tracker: 3 });
    const restored = new GradScaler();
    restored.loadStateDict(JSON.parse(JSON.stringify(state)));
    expect(restored.stateDict()).toEqual(state);
  });

  it("disabled, it is the identity and steps plainly", () => {
    const { lin, opt, x } = setup();
    const scaler = new GradScaler({ enabled: false });
    const loss = lin.forward(x).sum();
    expect(scaler.scale(loss)).toBe(loss);
    expect(scaler.getScale()).toBe(1);
    loss.backward();
    const before = weights(lin);
    expect(scaler.step(opt)).toBe(true);
    expect(weights(lin)).not.toEqual(before);
    expect(scaler.stateDict()).toEqual({});
  });
});
