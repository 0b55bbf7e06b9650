/**
 * Evaluation loops become `validationStep` / `testStep`: a loop over a DataLoader with no
 * backward inside the epoch loop is validation (the Trainer runs it after each training epoch,
 * as the script did), one after the epoch loop is the test (`trainer.test(model)` after fit).
 * The loop body is the step; the `noGrad(() => ...)` around it and `model.eval()` before it go,
 * because the Trainer evaluates in eval mode without gradients. What the script did before and
 * after the loop goes to the epoch hooks (`epoch-hooks.ts`, `entry-code.ts`).
 *
 *   model.eval();                                 validationStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
 *   noGrad(() => {                                  const logits = this.forward(x);
 *     for (const [x, y] of valLoader) {     →       this.valLoss += F.crossEntropy(logits, y).item();
 *       const logits = model.forward(x);          }
 *       valLoss += F.crossEntropy(logits, y).item();
 *     }
 *   });
 */
import { SyntaxKind } from "../../morph.ts";
import type { MethodName, ModuleBuilder } from "./builder.ts";
import { blockStatements, CannotMap, type LoopSite } from "./structure.ts";
import { jumpsOutOf, returnsIn } from "./statements.ts";

export function buildEvalSteps(m: ModuleBuilder): void {
  const sites: [LoopSite | null, MethodName, string][] = [
    [m.structure.validation, "validationStep", "validation"],
    [m.structure.test, "testStep", "test"],
  ];
  for (const [site, step, role] of sites) {
    if (!site) continue;
    const loop = site.loop;
    for (const b of jumpsOutOf(loop, SyntaxKind.BreakStatement)) {
      throw new CannotMap(b, `\`break\` ends the ${role} loop early; the Trainer runs it over the whole DataLoader (use limit${role === "test" ? "Test" : "Val"}Batches)`);
    }
    for (const r of returnsIn(loop.getStatement())) throw new CannotMap(r, `\`return\` inside the ${role} loop`);
    m.place(site.holder, "drop");
    for (const s of blockStatements(loop.getStatement())) m.place(s, step);
    for (const c of jumpsOutOf(loop, SyntaxKind.ContinueStatement)) m.ctx.edits.replace(c.getStart(), c.getEnd(), "return;", "module-continue");
    m.note(`${role} loop (lines ${m.line(loop)}–${m.ctx.lineOf(loop.getEnd())}) → ${step}()${role === "test" ? ", run by trainer.test(model) after fit" : ""}`);
  }
}
