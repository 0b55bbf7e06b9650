import { describe, it, expect, beforeAll, vi } from "vitest";
import { tf, nn, F, manualSeed } from "lightning-ts/torch";
import { withStepScope } from "../../../src/torch/autograd/index";
import { collectGarbage } from "../../../src/torch/autograd/lifetime";
import { backendWith, expectClose, spread, vals } from "./helpers";

beforeAll(async () => {
  await backendWith(["Conv2DBackpropFilter", "UnsortedSegmentSum"]);
});

describe("loss modules", () => {
  it("equal their functional forms, options included", () => {
    const logits = spread([5, 4], 0, 2);
    const y = tf.tensor1d([0, 3, 1, 1, 2], "int32");
    const w = tf.tensor1d([1, 2, 0.5, 1]);
    const same = (a: tf.Tensor, b: tf.Tensor) => expectClose(a, vals(b), 1e-6, b.shape);
    same(new nn.CrossEntropyLoss().forward(logits, y), F.crossEntropy(logits, y));
    same(
      new nn.CrossEntropyLoss({ weight: w, ignoreIndex: 1, labelSmoothing: 0.1, reduction: "sum" }).forward(logits, y),
      F.crossEntropy(logits, y, { weight: w, ignoreIndex: 1, labelSmoothing: 0.1, reduction: "sum" }),
    );
    const logp = F.logSoftmax(logits, 1);
    same(new nn.NLLLoss({ weight: w }).forward(logp, y), F.nllLoss(logp, y, { weight: w }));
    const a = spread([3, 2], 1);
    const b = spread([3, 2], 2);
    same(new nn.MSELoss().forward(a, b), F.mseLoss(a, b));
    same(new nn.L1Loss({ reduction: "none" }).forward(a, b), F.l1Loss(a, b, { reduction: "none" }));
    same(new nn.SmoothL1Loss({ beta: 0.5 }).forward(a, b), F.smoothL1Loss(a, b, { beta: 0.5 }));
    same(new nn.HuberLoss({ delta: 0.5 }).forward(a, b), F.huberLoss(a, b, { delta: 0.5 }));
    const p = tf.sigmoid(a);
    const t = tf.sigmoid(b);
    same(new nn.BCELoss().forward(p, t), F.binaryCrossEntropy(p, t));
    same(
      new nn.BCEWithLogitsLoss({ posWeight: tf.tensor1d([2, 3]) }).forward(a, t),
      F.binaryCrossEntropyWithLogits(a, t, { posWeight: tf.tensor1d([2, 3]) }),
    );
    const spy = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    same(
      new nn.KLDivLoss({ reduction: "batchmean" }).forward(F.logSoftmax(a, 1), F.softmax(b, 1)),
      F.klDiv(F.logSoftmax(a, 1), F.softmax(b, 1), { reduction: "batchmean" }),
    );
    spy.mockRestore();
  });

  it("class weights are buffers named like PyTorch's", () => {
    class Net extends nn.Module {
      fc = new nn.Linear(2, 2);
      criterion = new nn.BCEWithLogitsLoss({ weight: tf.tensor1d([1, 2]), posWeight: tf.tensor1d([3, 4]) });
    }
    const net = new Net();
    expect(Object.keys(net.stateDict())).toEqual(["fc.weight", "fc.bias", "criterion.weight", "criterion.pos_weight"]);
    expect(net.parameters()).toHaveLength(2);
    expect(new nn.CrossEntropyLoss().buffers()).toHaveLength(0);
  });
});

describe("memory", () => {
  it("a training step over every layer kind leaves no tensors behind (step scope + zeroGrad)", () => {
    manualSeed(0);
    class Net extends nn.Module {
      emb = new nn.Embedding(10, 4, { paddingIdx: 0 });
      conv = new nn.Conv2d(1, 3, 3, { padding: 1 });
      bn = new nn.BatchNorm2d(3);
      pool = new nn.MaxPool2d(2);
      drop = new nn.Dropout(0.3);
      fc = new nn.Linear(3 * 2 * 2 + 4, 2);
      ln = new nn.LayerNorm(2);
      override forward(x: tf.Tensor, ids: tf.Tensor): tf.Tensor {
        const h = this.drop.forward(F.flatten(this.pool.forward(F.relu(this.bn.forward(this.conv.forward(x)))), 1));
        const e = tf.mean(this.emb.forward(ids), 1);
        return this.ln.forward(this.fc.forward(tf.concat([h, e], 1)));
      }
    }
    const net = new Net();
    const x = spread([4, 1, 4, 4]);
    const ids = tf.tensor2d(
      [
        [1, 0],
        [2, 3],
        [0, 0],
        [9, 4],
      ],
      [4, 2],
      "int32",
    );
    const y = tf.tensor1d([0, 1, 1, 0]);
    const step = () =>
      withStepScope(() => {
        net.zeroGrad();
        const out = net.forward(x, ids);
        const loss = tf.add(
          F.binaryCrossEntropy(tf.sigmoid(tf.slice(out, [0, 0], [4, 1]).reshape([4])), y),
          F.crossEntropy(out, tf.cast(y, "int32")),
        );
        loss.backward();
      });
    step();
    step();
    // Dropped tensors are freed by the garbage collector (autograd/lifetime.ts): count after a
    // collection, allowing the few the last step may still hold in registers; a leak of one
    // tensor per step would exceed it.
    collectGarbage();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) step();
    collectGarbage();
    // Only the gradients of the last step remain (they are kept until zeroGrad), same as before.
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 4);
  });
});
