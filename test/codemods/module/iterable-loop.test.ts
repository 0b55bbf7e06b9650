// `--to module` on a training loop that iterates something other than a DataLoader (an episode
// counter, a generator of the script's own: pytorch/examples' actor_critic), with its backward in
// a helper (manual optimisation) and a `break` that ends training from the middle of the loop
// body (transforms/module/structure.ts selfContainedIterable, dataloaders.ts, training-step.ts
// endEpochOnBreak, helper-methods.ts, module-class.ts elementTypeOf).
import { describe, expect, it } from "vitest";
import { migrate } from "../../../src/codemods/index";
import { member, mod, ts } from "../helpers";

const EPISODES = ts`
  import { tf, nn, optim } from "lightning-ts/torch";

  function* count(start = 0): IterableIterator<number> {
    for (let i = start; ; i++) yield i;
  }

  class Policy extends nn.Module {
    fc = new nn.Linear(4, 2);
    override forward(x: tf.Tensor): tf.Tensor {
      return this.fc.forward(x);
    }
  }

  const model = new Policy();
  const optimizer = new optim.Adam(model.parameters(), { lr: 3e-2 });
  const eps = 1e-7;

  function finishEpisode(): void {
    optimizer.zeroGrad();
    const loss = model.forward(tf.ones([1, 4])).sum().add(eps);
    loss.backward();
    optimizer.step();
  }

  function main(): void {
    let running = 10;
    for (const episode of count(1)) {
      running = 0.95 * running + 1;
      finishEpisode();
      if (running > 100) {
        console.log("solved");
        break;
      }
      if (episode >= 5) break;
    }
  }

  main();
`;

/** Whitespace-insensitive (prettier breaks long chains its own way). */
const flat = (text: string) => text.replace(/\s+/g, " ").replace(/\( /g, "(").replace(/ \)/g, ")").replace(/ \./g, ".").trim();

describe("a training loop over another iterable", () => {
  it("trainDataloader() returns the iterable as it is, and trainingStep gets its element type", async () => {
    const out = await mod(EPISODES);
    expect(member(out, "trainDataloader")).toBe(ts`
      override trainDataloader() {
        return count(1);
      }
    `);
    expect(out).toContain("override trainingStep(episode: number, batchIdx: number) {");
  });

  it("a break before more of the body ends training there: under manual optimisation it also returns from the step", async () => {
    const step = flat(member(await mod(EPISODES), "trainingStep")!);
    expect(step).toContain(flat(ts`
      if (this.running > 100) {
        this.print("solved");
        this.endEpoch = true;
        return;
      }
      if (episode >= 5) this.endEpoch = true;
    `));
  });

  it("a helper that steps the optimizer becomes a method that takes it from this.optimizers(), with the constants it reads", async () => {
    const out = await mod(EPISODES);
    expect(out).toContain("override automaticOptimization = false;");
    expect(flat(member(out, "finishEpisode")!)).toBe(flat(ts`
      private finishEpisode(): void {
        const eps = 1e-7;
        const optimizer = this.optimizers();
        optimizer.zeroGrad();
        const loss = this.forward(tf.ones([1, 4])).sum().add(eps);
        this.manualBackward(loss);
        this.log("train_loss", loss);
        optimizer.step();
      }
    `));
  });

  it("an iterable built from what the training function computes is not taken as the data: it still needs a human", async () => {
    const computed = EPISODES.replace("for (const episode of count(1))", "const episodes = [1, 2, 3];\n    for (const episode of episodes)");
    const r = await migrate(computed, { to: "module" });
    expect(r.status).toBe("needs-human");
  });

  it("under automatic optimisation a break in the middle of the batch is still refused, with its reason", async () => {
    const automatic = ts`
      import { tf, nn, F, optim, data } from "lightning-ts/torch";
      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }
      async function main() {
        const model = new Net();
        const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
        const loader = new data.DataLoader(new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8], "int32")), { batchSize: 4 });
        for (const [x, y] of loader) {
          optimizer.zeroGrad();
          const loss = F.crossEntropy(model.forward(x), y);
          loss.backward();
          optimizer.step();
          if (loss.item() < 0.1) break;
          console.log(loss.item());
        }
      }
      main();
    `;
    const r = await migrate(automatic, { to: "module" });
    expect(r.status).toBe("needs-human");
    expect((r as { reason: string }).reason).toMatch(/^`break` in the middle of a batch ends the epoch early/);
  });
});
