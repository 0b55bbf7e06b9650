/**
 * A rewrite of the plain script before `--to module` reads it: full-batch training (every epoch
 * does one step on the whole data, no batch loop) gets the batch loop Lightning needs, over a
 * one-batch DataLoader of the same tensors — the answer Lightning users give for full-batch
 * training (`DataLoader(TensorDataset(x, y), batch_size=len(x))`).
 *
 *   for (let epoch = 0; epoch < n; epoch++) {     const trainLoader = new data.DataLoader(
 *     optimizer.zeroGrad();                          new data.TensorDataset(x, y), { batchSize: x.shape[0] });
 *     const loss = F.mseLoss(model.forward(x), y);  for (let epoch = 0; epoch < n; epoch++) {
 *     loss.backward();                        →       for (const [x, y] of trainLoader) {
 *     optimizer.step();                                 optimizer.zeroGrad();
 *   }                                                   ...
 *                                                     }
 *                                                   }
 *
 * The batch holds the same values in the same order (the loader does not shuffle), and the loop
 * binds the tensors' own names, so the step's code reads the batch unchanged. Only the epoch
 * body's statements that train (from the first zeroGrad/backward/step to the last, and what reads
 * their results) go inside; what the epoch does around them stays epoch code.
 */
import type { ForStatement, Statement, VariableDeclaration } from "ts-morph";
import { isFunctionLike } from "../../analysis/functions.ts";
import type { ScriptAnalysis } from "../../analysis/types.ts";
import { EditSet } from "../../edits.ts";
import { positionAt } from "../../errors.ts";
import { Node, SyntaxKind, VariableDeclarationKind, unwrap } from "../../morph.ts";
import { indentationAt, spanStart } from "../shared/ranges.ts";
import { aboveEpochLoop, loopAroundBackward, unusedName, type InputRewrite } from "./input-rewrite.ts";
import { isLoop, within } from "./statements.ts";

export function wrapFullBatch(analysis: ScriptAnalysis): InputRewrite | null {
  if (analysis.trainingLoops.length > 0 || analysis.backwardCalls.length === 0) return null;
  const epochLoop = theEpochLoop(analysis);
  if (!epochLoop) return null;
  const bodyNode = epochLoop.getStatement();
  if (!Node.isBlock(bodyNode)) return null;
  const body = bodyNode.getStatements();

  // The training statements: zeroGrad, backward and step of the script's optimizers and models.
  const trained = new Set<Node>([...analysis.optimizers.flatMap((o) => (o.declaration ? [o.declaration] : [])), ...analysis.models.map((m) => m.declaration)]);
  const trains = (s: Statement) =>
    analysis.backwardCalls.some((b) => within(b.call, s)) ||
    s.getDescendantsOfKind(SyntaxKind.CallExpression).some((c) => {
      const callee = c.getExpression();
      if (!Node.isPropertyAccessExpression(callee) || !["zeroGrad", "step"].includes(callee.getName())) return false;
      const r = unwrap(callee.getExpression());
      const decl = Node.isIdentifier(r) ? analysis.references.declarationOf(r) : undefined;
      return decl !== undefined && trained.has(decl);
    });
  // ...and the statements of the epoch body they read (the forward pass and the loss).
  const core = new Set(body.filter(trains));
  if (core.size === 0) return null;
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of [...core]) {
      for (const id of s.getDescendantsOfKind(SyntaxKind.Identifier)) {
        const decl = analysis.references.declarationOf(id);
        const holder = decl ? body.find((b) => b !== s && within(decl, b)) : undefined;
        if (holder && !core.has(holder)) {
          core.add(holder);
          grew = true;
        }
      }
    }
  }
  const first = body.findIndex((s) => core.has(s));
  let last = body.length - 1 - [...body].reverse().findIndex((s) => core.has(s));
  // Statements after the step that read what the step computed (`console.log(loss.item())`).
  for (let grew = true; grew; ) {
    grew = false;
    for (let i = body.length - 1; i > last; i--) {
      const reads = body[i]!.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => {
        const decl = analysis.references.declarationOf(id);
        return decl !== undefined && body.slice(first, last + 1).some((s) => within(decl, s));
      });
      if (reads) {
        last = i;
        grew = true;
        break;
      }
    }
  }
  const step = body.slice(first, last + 1);
  const tensors = dataTensors(body.filter((s) => core.has(s)), epochLoop, analysis);
  if (tensors.length === 0) return null;

  const dataNs = dataNamespace(analysis);
  if (!dataNs) return null;
  const loader = unusedName(analysis, "trainLoader");
  const names = tensors.map((t) => t.getName());
  const text = analysis.text;
  const edits = new EditSet(text);
  if (dataNs.importEdit) edits.insert(dataNs.importEdit.at, dataNs.importEdit.text, "full-batch-import");
  const anchor = aboveEpochLoop(epochLoop);
  const loopIndent = indentationAt(anchor.getStart(), text);
  // Above the comments that introduce the loop: they stay with it.
  edits.insert(
    spanStart(anchor, text),
    `${loopIndent}// The whole data as one batch: the plain loop trained on all of it at every step.\n` +
      `${loopIndent}const ${loader} = new ${dataNs.name}.DataLoader(new ${dataNs.name}.TensorDataset(${names.join(", ")}), { batchSize: ${names[0]}.shape[0] });\n`,
    "full-batch-loader",
  );
  const stepIndent = indentationAt(step[0]!.getStart(), text);
  edits.insert(spanStart(step[0]!, text), `${stepIndent}for (const [${names.join(", ")}] of ${loader}) {\n`, "full-batch-loop");
  edits.insert(step.at(-1)!.getEnd(), `\n${stepIndent}}`, "full-batch-loop");
  const line = (n: Node) => positionAt(analysis.text, n.getStart()).line;
  return {
    text: edits.apply(),
    note: `full-batch training (line ${line(step[0]!)}) → a one-batch DataLoader of ${names.join(", ")} (\`${loader}\`), the same values in the same order`,
  };
}

/** The loop around the backward calls when it is a `for` with no loop around it in its function. */
function theEpochLoop(analysis: ScriptAnalysis): ForStatement | null {
  const found = loopAroundBackward(analysis);
  if (!found || !Node.isForStatement(found)) return null;
  for (let a: Node | undefined = found.getParent(); a && !isFunctionLike(a); a = a.getParent()) if (isLoop(a)) return null;
  return found;
}

/**
 * The tensors the step trains on: `const` variables declared before the loop (outside it) that
 * the step passes to a forward or loss call (`model.forward(x)`, `criterion.forward(out, y)`,
 * `F.mseLoss(out, y)`), in the order the step first names them. Constructed objects (`new ...`),
 * literals and functions are not data.
 */
function dataTensors(step: Statement[], loop: ForStatement, analysis: ScriptAnalysis): VariableDeclaration[] {
  const out: VariableDeclaration[] = [];
  const firstUse = new Map<VariableDeclaration, number>();
  for (const s of step) {
    for (const call of s.getDescendantsOfKind(SyntaxKind.CallExpression)) {
      const callee = call.getExpression().getText();
      if (!/\.forward$|^F\.|^tf\.losses\./.test(callee)) continue;
      for (const arg of call.getArguments()) {
        const e = unwrap(arg);
        if (!Node.isIdentifier(e)) continue;
        const decl = analysis.references.declarationOf(e);
        if (!decl || !Node.isVariableDeclaration(decl) || out.includes(decl) || within(decl, loop)) continue;
        if (decl.getVariableStatement()?.getDeclarationKind() !== VariableDeclarationKind.Const) continue;
        if (!Node.isIdentifier(decl.getNameNode())) continue;
        const init = decl.getInitializer();
        if (!init) continue;
        const value = unwrap(init);
        if (Node.isNewExpression(value) || Node.isLiteralExpression(value) || Node.isArrowFunction(value) || Node.isFunctionExpression(value) || Node.isObjectLiteralExpression(value) || Node.isArrayLiteralExpression(value)) continue;
        out.push(decl);
        firstUse.set(decl, e.getStart());
      }
    }
  }
  return out.sort((a, b) => firstUse.get(a)! - firstUse.get(b)!);
}

/** The local name of the torch layer's `data` namespace, and the import edit that binds it if none does. */
function dataNamespace(analysis: ScriptAnalysis): { name: string; importEdit: { at: number; text: string } | null } | null {
  // (the script's torch import, however it spells the module: analysis/torch.ts)
  const torch = analysis.torchImport;
  if (!torch) return null;
  const bound = [...torch.named].find(([, exported]) => exported === "data");
  if (bound) return { name: bound[0], importEdit: null };
  const target = torch.declarations.find((d) => d.getNamedImports().length > 0);
  if (!target) return null;
  const lastSpec = target.getNamedImports().at(-1)!;
  const name = unusedName(analysis, "data") === "data" ? "data" : unusedName(analysis, "torchData");
  return { name, importEdit: { at: lastSpec.getEnd(), text: name === "data" ? ", data" : `, data as ${name}` } };
}
