/**
 * A rewrite of the plain script before `--to module` reads it: training that is one `while
 * (true)` loop (or `do ... while (cond)`) drawing its own batches and stopping itself with `break`
 * — a regression fitted until its loss is small, an RL agent until it is solved, nanoGPT's
 * iterations — iterates an endless sequence instead, one training step per iteration. (Its
 * backward may sit in an inner loop, nanoGPT's micro-steps accumulating gradients: the pipeline
 * then keeps that loop in a manually optimised step.) The Trainer runs one epoch over it
 * and the `break` ends that epoch (onTrainBatchStart returns -1), as it ended the loop.
 *
 *   while (true) {                      for (const _ of (function* () { for (;;) yield; })()) {
 *     const [x, y] = getBatch();    →     const [x, y] = getBatch();
 *     ...                                 ...
 *     if (loss.item() < 1e-3) break;      if (loss.item() < 1e-3) break;
 *   }                                   }
 *
 * `do { body } while (cond)` runs the body, then stops unless `cond`: the same loop with
 * `if (!(cond)) break;` as its last statement. A `while (cond)` that tests before each step has
 * no such form (the Trainer cannot stop before a step it has started) and is left alone.
 */
import type { DoStatement, WhileStatement } from "ts-morph";
import { EditSet } from "../../edits.ts";
import { positionAt } from "../../errors.ts";
import type { ScriptAnalysis } from "../../analysis/types.ts";
import { isFunctionLike } from "../../analysis/functions.ts";
import { Node } from "../../morph.ts";
import { loopAroundBackward, unusedName, type InputRewrite } from "./input-rewrite.ts";
import { isLoop } from "./statements.ts";

export function iterateWhileLoop(analysis: ScriptAnalysis): InputRewrite | null {
  if (analysis.trainingLoops.length > 0 || analysis.backwardCalls.length === 0) return null;
  const loop = whileAroundBackward(analysis);
  if (!loop) return null;
  // The training loop itself, not an inner loop of an epoch.
  for (let a: Node | undefined = loop.getParent(); a && !isFunctionLike(a); a = a.getParent()) if (isLoop(a)) return null;
  const body = loop.getStatement();
  if (!Node.isBlock(body)) return null;
  const condition = loop.getExpression();
  if (Node.isWhileStatement(loop) && !Node.isTrueLiteral(condition)) return null;

  const name = unusedName(analysis, "_");
  const edits = new EditSet(analysis.text);
  edits.replace(loop.getStart(), body.getStart(), `for (const ${name} of (function* () { for (;;) yield; })()) `, "while-loop");
  if (Node.isDoStatement(loop)) {
    // `do { ... } while (cond);` → `for (...) { ...; if (!(cond)) break; }`
    edits.replace(body.getEnd() - 1, loop.getEnd(), `if (!(${condition.getText()})) break;\n}`, "while-loop");
  }
  const line = positionAt(analysis.text, loop.getStart()).line;
  return {
    text: edits.apply(),
    note: `the training loop \`${Node.isDoStatement(loop) ? "do ... while" : "while (true)"}\` (line ${line}) → one training step per iteration of an endless sequence, in one epoch its \`break\` ends`,
  };
}

/** The `while`/`do` loop around every backward call (through closures and inner loops), or null. */
function whileAroundBackward(analysis: ScriptAnalysis): WhileStatement | DoStatement | null {
  const inner = loopAroundBackward(analysis);
  if (!inner) return null;
  for (let a: Node | undefined = inner; a && !isFunctionLike(a); a = a.getParent()) {
    if (Node.isWhileStatement(a) || Node.isDoStatement(a)) return a;
  }
  return null;
}
