import { describe, it, expect, beforeAll, afterEach } from "vitest";
import { mkdtempSync, readFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tf, optim, F, manualSeed } from "lightning-ts/torch";
import { usePureJsCpu, Net, TestLite, RankOneStrategy, batch, labels } from "../helpers";

const dir = mkdtempSync(join(tmpdir(), "lite-backward-"));

function grads(model: Net): number[][] {
  return model.parameters().map((p) => Array.from(p.grad!.dataSync()));
}

describe("LightningLite.backward", () => {
  beforeAll(usePureJsCpu);
  afterEach(() => {
    delete process.env.LIGHTNING_TS_LOSS_TRACE;
  });

  it("writes every loss to the loss trace, exactly as loss.backward() does in the plain loop", () => {
    const train = (useLite: boolean, trace: string): number[] => {
      process.env.LIGHTNING_TS_LOSS_TRACE = trace;
      manualSeed(5);
      let model = new Net();
      let opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
      const lite = new TestLite();
      if (useLite) [model, opt] = lite.setup(model, opt);
      const losses: number[] = [];
      for (let i = 0; i < 4; i++) {
        opt.zeroGrad();
        const loss = F.crossEntropy(model.forward(batch(8, 6, i)), labels(8, 3, i));
        losses.push(loss.item());
        if (useLite) lite.backward(loss);
        else loss.backward();
        opt.step();
      }
      return losses;
    };
    const plainFile = join(dir, "plain.txt");
    const liteFile = join(dir, "lite.txt");
    const plainLosses = train(false, plainFile);
    const liteLosses = train(true, liteFile);
    const liteTrace = readFileSync(liteFile, "utf8");
    expect(liteTrace).toBe(readFileSync(plainFile, "utf8"));
    // One plain decimal per line, full precision: it reads back as the exact float32 loss.
    expect(liteTrace.trimEnd().split("\n").map(Number)).toEqual(liteLosses);
    expect(liteLosses).toEqual(plainLosses);
  });

  it("produces the gradients plain loss.backward() produces", () => {
    manualSeed(2);
    const plain = new Net();
    manualSeed(2);
    const lite = new TestLite();
    const [model] = lite.setup(new Net());
    const x = batch(5, 6);
    const y = labels(5, 3);
    F.crossEntropy(plain.forward(x), y).backward();
    lite.backward(F.crossEntropy(model.forward(x), y));
    expect(grads(model)).toEqual(grads(plain));
    // Accumulates like PyTorch: a second backward adds the same gradients again.
    lite.backward(F.crossEntropy(model.forward(x), y));
    expect(grads(model)).toEqual(grads(plain).map((g) => g.map((v) => Math.fround(v + v))));
  });

  it("passes retainGraph and gradient through to the core backward", () => {
    const lite = new TestLite();
    const [model] = lite.setup(new Net());
    const out = model.forward(batch(2, 6));
    const loss = out.sum();
    lite.backward(loss, { retainGraph: true });
    const first = grads(model);
    lite.backward(loss); // the retained graph allows a second pass
    expect(grads(model)).toEqual(first.map((g) => g.map((v) => Math.fround(v + v))));
    model.zeroGrad();
    lite.backward(model.forward(batch(2, 6)), { gradient: tf.onesLike(out) });
    expect(grads(model)).toEqual(first);
    expect(() => lite.backward(3 as never)).toThrow("backward(): the loss must be a tensor, got 3");
  });

  it("writes no trace on a rank other than 0", () => {
    const file = join(dir, "rank1.txt");
    process.env.LIGHTNING_TS_LOSS_TRACE = file;
    const lite = new TestLite({ strategy: new RankOneStrategy("cpu") });
    const [model] = lite.setup(new Net());
    lite.backward(F.crossEntropy(model.forward(batch(4, 6)), labels(4, 3)));
    expect(existsSync(file)).toBe(false);
    // A rank-0 Lite takes the rank check back.
    const zero = new TestLite();
    const [m0] = zero.setup(new Net());
    zero.backward(F.crossEntropy(m0.forward(batch(4, 6)), labels(4, 3)));
    expect(readFileSync(file, "utf8").trimEnd().split("\n")).toHaveLength(1);
    rmSync(dir, { recursive: true, force: true });
  });
});
