/**
 * Manual optimisation (`automaticOptimization = false`), for what the Trainer's automatic loop
 * cannot express, a GAN's two optimizers first of all. The batch loop keeps its own order of
 * zeroGrad / backward / step, so the same gradients are computed in the same order:
 *
 *   optD.zeroGrad();                         const [optG, optD] = this.optimizers();
 *   lossD.backward();                  →     optD.zeroGrad();
 *   optD.step();                             this.manualBackward(lossD);
 *                                            this.log("loss_d", lossD);
 *                                            optD.step();
 *
 * `this.optimizers()` hands out the optimizers `configureOptimizers` returns, wrapped so that a
 * step goes through the strategy and precision plugin; `manualBackward` traces the loss and
 * backpropagates through them too. The script's scheduler steps stay where they are.
 */
import type { Statement } from "ts-morph";
import { Node, SyntaxKind } from "../../morph.ts";
import { rewriteBackward } from "./backward.ts";
import { snakeCase, type ModuleBuilder } from "./builder.ts";
import { jumpsOutOf } from "./statements.ts";
import { statementOfCall } from "../../analysis/functions.ts";

export function manualTrainingStep(m: ModuleBuilder, body: Statement[], reason: string, logOptions: string): void {
  const { analysis, edits } = m.ctx;
  const backward = analysis.trainingLoops[0]!.backward;
  backward.forEach((b, i) => {
    const metric = backward.length === 1 ? "train_loss" : Node.isIdentifier(b.loss) ? snakeCase(b.loss.getText()) : `train_loss_${i}`;
    rewriteBackward(m, b, statementOfCall(b.call), { metric, manual: true, logOptions });
  });
  for (const s of body) m.place(s, "trainingStep");
  // `continue` skips the rest of the batch: return from the step.
  for (const c of jumpsOutOf(m.structure.train.loop, SyntaxKind.ContinueStatement)) edits.replace(c.getStart(), c.getEnd(), "return;", "module-continue");
  const loop = m.structure.train.loop;
  m.note(
    `batch loop (lines ${m.line(loop)}–${m.ctx.lineOf(loop.getEnd())}) → trainingStep() with manual optimisation (${reason}): ` +
      `backward → this.manualBackward, optimizers from this.optimizers()`,
  );
}
