import { beforeAll, describe, expect, it } from "vitest";
import { LBFGS, type LBFGSOptions } from "../../../src/torch/optim/index";
import { Linear } from "../../../src/torch/nn/layers/linear";
import { mseLoss } from "../../../src/torch/functional/index";
import { tf, setupTorch, expectClose, values } from "./helpers";

beforeAll(setupTorch);

/** Rosenbrock's function (1 − x₀)² + 100·(x₁ − x₀²)², minimum 0 at (1, 1). */
function rosenbrock(x: tf.Variable): tf.Tensor {
  const x0 = tf.slice(x, [0], [1]);
  const x1 = tf.slice(x, [1], [1]);
  return tf.sum(tf.add(tf.square(tf.sub(1, x0)), tf.mul(100, tf.square(tf.sub(x1, tf.square(x0))))));
}

/** An LBFGS on `x` with a closure that counts its calls, as in pytorch/examples' `closure()`. */
function rosenbrockRun(options: LBFGSOptions, start = [-1.5, 2.0]) {
  const x = tf.variable(tf.tensor1d(start));
  const opt = new LBFGS([x], options);
  const run = { x, opt, calls: 0, closure: (): tf.Tensor => tf.scalar(0) };
  run.closure = () => {
    run.calls++;
    opt.zeroGrad();
    const loss = rosenbrock(x);
    loss.backward();
    return loss;
  };
  return run;
}

/*
 * Reference values printed by PyTorch 1.13 (Debian python3-torch 1.13.0a0, CPU), in float32
 * (what we compute in) and float64:
 *
 *   import torch
 *   def rosen(x): return (1 - x[0])**2 + 100 * (x[1] - x[0]**2)**2
 *   def run(dtype, steps, **kw):
 *       x = torch.tensor([-1.5, 2.0], dtype=dtype, requires_grad=True)
 *       opt = torch.optim.LBFGS([x], **kw)
 *       calls = [0]
 *       def closure():
 *           calls[0] += 1; opt.zero_grad(); l = rosen(x); l.backward(); return l
 *       out = []
 *       for s in range(steps):
 *           opt.step(closure)
 *           out.append("[%.9g, %.9g] calls %d n_iter %d" % (*x.tolist(), calls[0], opt.state[x]["n_iter"]))
 *       return out
 *   cases = [dict(max_iter=k, line_search_fn="strong_wolfe") for k in (5, 8, 12)] + \
 *           [dict(max_iter=8, history_size=2, line_search_fn="strong_wolfe"), dict(lr=0.1, max_iter=8),
 *            dict(lr=1.0, max_iter=8)]
 *   for kw in cases:
 *       print(kw, run(torch.float32, 1, **kw), run(torch.float64, 1, **kw))
 *   for kw in [dict(lr=1.0), dict(lr=0.1), dict(line_search_fn="strong_wolfe")]:
 *       print(kw); print(" f32", run(torch.float32, 3, **kw)); print(" f64", run(torch.float64, 3, **kw))
 *
 * L-BFGS on Rosenbrock's valley amplifies rounding: after 20 iterations float32 PyTorch is
 * 5e-2 away from float64 PyTorch. So each comparison allows 3× the float32↔float64 gap
 * PyTorch itself shows at that point (plus 1e-6): the ported algorithm must track float32
 * PyTorch as closely as PyTorch's own precision does; the call and iteration counts must match.
 */
type TorchPoint = { x32: [number, number]; x64: [number, number]; calls: number; nIter: number };
const pt = (x32: [number, number], x64: [number, number], calls: number, nIter: number): TorchPoint => ({
  x32,
  x64,
  calls,
  nIter,
});

function expectLikeTorch(x: tf.Variable, p: TorchPoint): void {
  const gap = Math.max(Math.abs(p.x32[0] - p.x64[0]), Math.abs(p.x32[1] - p.x64[1]));
  expectClose(values(x), p.x32, 0, 3 * gap + 1e-6);
}

const TORCH_ONE_STEP: Array<[LBFGSOptions, TorchPoint]> = [
  [{ maxIter: 5, lineSearchFn: "strong_wolfe" }, pt([-1.41901577, 2.01523113], [-1.41901517, 2.01522888], 6, 4)],
  [{ maxIter: 8, lineSearchFn: "strong_wolfe" }, pt([-1.28719234, 1.60550928], [-1.28718324, 1.60548502], 10, 8)],
  [{ maxIter: 12, lineSearchFn: "strong_wolfe" }, pt([-0.825857699, 0.631346583], [-0.825840954, 0.631317251], 15, 12)],
  [
    { maxIter: 8, historySize: 2, lineSearchFn: "strong_wolfe" },
    pt([-1.19055152, 1.36059344], [-1.19054119, 1.36057434], 10, 8),
  ],
  [{ lr: 0.1, maxIter: 8 }, pt([-1.42116666, 2.02272272], [-1.42116673, 2.02272308], 8, 8)],
  [{ lr: 1.0, maxIter: 8 }, pt([-1.40838158, 1.98181629], [-1.40838167, 1.98181686], 8, 8)],
];

const TORCH_THREE_STEPS: Array<[LBFGSOptions, TorchPoint[]]> = [
  [
    { lr: 1.0 },
    [
      pt([-0.781142235, 0.61316514], [-0.78112273, 0.613135292], 20, 20),
      pt([0.135623112, 0.00401557703], [0.0830325232, 0.0050529447], 40, 40),
      pt([0.5171206, 0.266126215], [1.05496902, 0.813705355], 60, 60),
    ],
  ],
  [
    { lr: 0.1 },
    [
      pt([-1.40437591, 1.99098432], [-1.40437587, 1.99098419], 20, 20),
      pt([-0.59198612, 0.0503882915], [-0.592977689, 0.0527017234], 40, 40),
      pt([-0.754867315, 0.510103226], [-0.755414267, 0.511121603], 60, 60),
    ],
  ],
  [
    { lineSearchFn: "strong_wolfe" },
    [
      pt([-0.0853502676, -0.0288518686], [-0.0851185559, -0.0287570584], 25, 19),
      pt([0.999994397, 0.999988735], [0.999583547, 0.999155032], 50, 39),
      pt([0.999994397, 0.999988735], [0.999997994, 0.999997344], 51, 40),
    ],
  ],
];

describe("LBFGS against PyTorch 1.13 on Rosenbrock's function", () => {
  for (const [options, p] of TORCH_ONE_STEP) {
    it(`one step with ${JSON.stringify(options)}: iterate, closure calls, iterations`, () => {
      const run = rosenbrockRun(options);
      const loss = run.opt.step(run.closure);
      expect(loss.dataSync()[0]).toBe(12.5); // the loss before the step, as PyTorch returns it
      expectLikeTorch(run.x, p);
      expect(run.calls).toBe(p.calls);
      expect(run.opt.state.get(run.x)).toEqual(expect.objectContaining({ funcEvals: p.calls, nIter: p.nIter }));
    });
  }

  for (const [options, points] of TORCH_THREE_STEPS) {
    it(`three steps with ${JSON.stringify(options)} (maxIter 20, maxEval 25)`, () => {
      const run = rosenbrockRun(options);
      points.forEach((p, s) => {
        run.opt.step(run.closure);
        expectLikeTorch(run.x, p);
        if (s === 0) {
          expect(run.calls).toBe(p.calls);
          expect(run.opt.state.get(run.x)!.nIter).toBe(p.nIter);
        }
      });
      if (options.lineSearchFn) expectClose(values(run.x), [1, 1], 0, 2e-5);
    });
  }
});

describe("LBFGS convergence", () => {
  // f(x) = ½ (x − c)ᵀA(x − c), A symmetric positive definite: the minimum is c (f = 0 there,
  // where float32 resolves the loss finely). The b-form ½xᵀAx − bᵀx is checked too, against
  // A⁻¹b by Gaussian elimination, to the accuracy its float32 loss (≈ −2 at the minimum) allows.
  const A = [
    [4, 1, 0.5, 0],
    [1, 3, 0, 0.25],
    [0.5, 0, 2, 0.5],
    [0, 0.25, 0.5, 1.5],
  ];
  const b = [1, -2, 0.5, 3];
  function solve(M: number[][], rhs: number[]): number[] {
    const n = rhs.length;
    const a = M.map((row, i) => [...row, rhs[i]]);
    for (let c = 0; c < n; c++) {
      for (let r = c + 1; r < n; r++) {
        const f = a[r][c] / a[c][c];
        for (let k = c; k <= n; k++) a[r][k] -= f * a[c][k];
      }
    }
    const x = new Array<number>(n).fill(0);
    for (let r = n - 1; r >= 0; r--) {
      let s = a[r][n];
      for (let k = r + 1; k < n; k++) s -= a[r][k] * x[k];
      x[r] = s / a[r][r];
    }
    return x;
  }

  const c = [0.5, -1, 2, 0.25];
  for (const lineSearchFn of [null, "strong_wolfe"] as const) {
    it(`reaches the minimum of a quadratic within one step (lineSearchFn ${lineSearchFn})`, () => {
      const x = tf.variable(tf.zeros([4]));
      const At = tf.tensor2d(A);
      const ct = tf.tensor1d(c);
      const opt = new LBFGS([x], { lineSearchFn });
      let calls = 0;
      const first = opt.step(() => {
        calls++;
        opt.zeroGrad();
        const e = tf.sub(x, ct);
        const loss = tf.mul(0.5, tf.sum(tf.mul(e, tf.squeeze(tf.matMul(At, tf.reshape(e, [4, 1]))))));
        loss.backward();
        return loss;
      });
      // The loss at the start (½cᵀAc), as PyTorch returns it.
      const cAc = c.reduce((s, ci, i) => s + ci * A[i].reduce((t, aij, j) => t + aij * c[j], 0), 0);
      expectClose(first.dataSync(), [0.5 * cAc], 1e-6);
      expectClose(values(x), c, 0, 1e-5);
      // Stopped on a tolerance before maxIter (20): 4 dimensions need few quasi-Newton updates.
      expect(opt.state.get(x)!.nIter).toBeLessThan(20);
      expect(calls).toBeLessThanOrEqual(25);
    });
  }

  it("minimises ½xᵀAx − bᵀx to A⁻¹b (to what float32 resolves of a loss near −2)", () => {
    const x = tf.variable(tf.zeros([4]));
    const At = tf.tensor2d(A);
    const bt = tf.tensor1d(b);
    const opt = new LBFGS([x], { lineSearchFn: "strong_wolfe" });
    const closure = () => {
      opt.zeroGrad();
      const Ax = tf.squeeze(tf.matMul(At, tf.reshape(x, [4, 1])));
      const loss = tf.sub(tf.mul(0.5, tf.sum(tf.mul(x, Ax))), tf.sum(tf.mul(bt, x)));
      loss.backward();
      return loss;
    };
    expect(opt.step(closure).dataSync()[0]).toBe(0);
    expectClose(values(x), solve(A, b), 0, 5e-4);
  });

  it("fits a model (nn.Linear, MSE) the way time_sequence_prediction uses it: lr 0.8, closure per step", () => {
    const model = new Linear(3, 1);
    const X = [
      [1, 2, -1],
      [0.5, -1, 2],
      [-1.5, 0.25, 1],
      [2, 1, 0.5],
      [0, -0.5, 1.5],
    ];
    const wTrue = [0.7, -1.2, 0.4];
    const y = X.map((r) => [r.reduce((s, v, j) => s + v * wTrue[j], 0) + 0.3]);
    const input = tf.tensor2d(X);
    const target = tf.tensor2d(y);
    const optimizer = new LBFGS(model.parameters(), { lr: 0.8 });
    const losses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const closure = () => {
        optimizer.zeroGrad();
        const out = model.forward(input);
        const loss = mseLoss(out, target);
        loss.backward();
        return loss;
      };
      losses.push(optimizer.step(closure).dataSync()[0]);
    }
    expect(losses[0]).toBeGreaterThan(1e-2);
    expect(losses[4]).toBeLessThan(1e-8);
    expectClose(values(model.weight), wTrue, 1e-3, 1e-4);
    expectClose(values(model.bias!), [0.3], 1e-3, 1e-4);
  });

  it("returns at once, after one closure call, when the gradient is below toleranceGrad", () => {
    const run = rosenbrockRun({}, [1, 1]);
    const loss = run.opt.step(run.closure);
    expect(run.calls).toBe(1);
    expect(loss.dataSync()[0]).toBe(0);
    expect(values(run.x)).toEqual([1, 1]);
    expect(run.opt.state.get(run.x)).toEqual({ funcEvals: 1, nIter: 0 });
  });
});

describe("LBFGS API", () => {
  it("defaults are PyTorch's (maxEval = maxIter·5/4 rounded down)", () => {
    const x = tf.variable(tf.zeros([2]));
    const g = new LBFGS([x]).paramGroups[0];
    expect({ ...g, params: undefined }).toEqual({
      params: undefined,
      lr: 1,
      maxIter: 20,
      maxEval: 25,
      toleranceGrad: 1e-7,
      toleranceChange: 1e-9,
      historySize: 100,
      lineSearchFn: null,
    });
    expect(new LBFGS([x], { maxIter: 7 }).paramGroups[0].maxEval).toBe(8);
  });

  it("rejects groups, unknown line searches and a missing closure", () => {
    const a = tf.variable(tf.zeros([2]));
    const b = tf.variable(tf.zeros([2]));
    expect(() => new LBFGS([{ params: [a] }, { params: [b] }])).toThrow(
      "LBFGS doesn't support per-parameter options (parameter groups)",
    );
    expect(() => new LBFGS([a], { lineSearchFn: "backtracking" as "strong_wolfe" })).toThrow(
      /only 'strong_wolfe' is supported/,
    );
    const opt = new LBFGS([a]);
    expect(() => opt.step()).toThrow(/needs a closure/);
  });

  for (const lineSearchFn of [null, "strong_wolfe"] as const) {
    it(`an async closure (the Trainer's) takes the same steps as a synchronous one, lineSearchFn ${lineSearchFn}`, async () => {
      const sync = rosenbrockRun({ lineSearchFn, maxIter: 8 });
      const asyncRun = rosenbrockRun({ lineSearchFn, maxIter: 8 });
      const syncClosure = asyncRun.closure;
      const closure = async () => {
        await Promise.resolve();
        return syncClosure();
      };
      for (let s = 0; s < 3; s++) {
        const first = sync.opt.step(sync.closure);
        const pending = asyncRun.opt.step(closure);
        expect(pending).toBeInstanceOf(Promise);
        // step returns the first evaluation's loss, as the synchronous step does.
        expect(values(await pending)).toEqual(values(first));
        expect(values(asyncRun.x)).toEqual(values(sync.x));
        expect(asyncRun.calls).toBe(sync.calls);
      }
      expect(sync.calls).toBeGreaterThan(3);
    });
  }

  it("stateDict holds PyTorch's memory; a loaded optimizer continues exactly like the original", () => {
    const straight = rosenbrockRun({ lineSearchFn: "strong_wolfe", maxIter: 6 });
    for (let s = 0; s < 3; s++) straight.opt.step(straight.closure);

    const first = rosenbrockRun({ lineSearchFn: "strong_wolfe", maxIter: 6 });
    first.opt.step(first.closure);
    const sd = first.opt.stateDict();
    const s0 = sd.state[0];
    expect(Object.keys(s0).sort()).toEqual(
      ["d", "funcEvals", "hDiag", "nIter", "oldDirs", "oldStps", "prevFlatGrad", "prevLoss", "ro", "t"].sort(),
    );
    expect((s0.oldDirs as tf.Tensor).shape[1]).toBe(2);
    expect((s0.oldDirs as tf.Tensor).shape[0]).toBe((s0.ro as tf.Tensor).size);

    const resumed = rosenbrockRun({ lineSearchFn: "strong_wolfe", maxIter: 6 }, values(first.x));
    resumed.opt.loadStateDict(sd);
    for (let s = 1; s < 3; s++) resumed.opt.step(resumed.closure);
    expect(values(resumed.x)).toEqual(values(straight.x));
    expect(resumed.opt.state.get(resumed.x)!.nIter).toBe(straight.opt.state.get(straight.x)!.nIter);
  });
});
