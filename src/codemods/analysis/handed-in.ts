/**
 * A training function handed its optimizer by the script (nn_tutorial's
 * `fit(epochs, model, lossFunc, opt, trainDl, validDl)`, called once per model the script
 * builds): the function that holds the training loop is the entry, and the optimizer is its
 * parameter, as Lightning's wrapper modules take a ready-made optimizer (`LitModel(model, opt)`,
 * `configure_optimizers` returning it). The callers keep building their models and optimizers;
 * each call becomes a Trainer fitting a module made of its arguments.
 */
import type { ParameterDeclaration } from "ts-morph";
import { Node, SyntaxKind, isLoop, within } from "../morph.ts";
import { callSiteOf, makeOwnerOf, statementOfCall } from "./functions.ts";
import type { Entry, ScriptAnalysis } from "./types.ts";

export interface HandedInTraining {
  entry: Entry & { kind: "function" };
  /** The parameter that holds the optimizer. */
  optimizer: ParameterDeclaration;
}

/** An optimizer type as scripts annotate one: `optim.SGD`, `optim.Optimizer`, `torch.optim.Adam`, `Optimizer`. */
export function isOptimizerType(text: string): boolean {
  return /^(?:\w+\.)*optim\.[A-Z]\w*$|^Optimizer$/.test(text.replace(/\s+/g, ""));
}

export function findHandedInTraining(analysis: ScriptAnalysis): HandedInTraining | null {
  if (analysis.trainingLoops.length !== 1) return null;
  const ownerOf = makeOwnerOf(analysis.functions);
  const owner = ownerOf(analysis.trainingLoops[0]!.batchLoop);
  if (owner.kind !== "function") return null;
  const fn = owner.fn;
  if (fn.calls.length === 0 || fn.otherReferences.length > 0) return null;
  if (!fn.calls.every((c) => ownerOf(c).kind === "top")) return null;
  // Its epochs are its own (a function called once per epoch trains one epoch: optimization_tutorial's trainLoop).
  const epochLoop = analysis.trainingLoops[0]!.epochLoop;
  if (epochLoop ? !within(epochLoop, fn.node) : fn.calls.some((c) => c.getFirstAncestor((a) => isLoop(a)) !== undefined)) return null;
  // Each call a statement of its own (`fit(...)`, `await fit(...)`), or one whose result is the
  // model it was handed (`modelFt = await trainModel(modelFt, ...)`, the transfer-learning
  // tutorial run twice: the function ends in `return model;`).
  const returned = returnedParameter(fn.node);
  if (!fn.calls.every((c) => statementOfCall(c) !== null || (returned !== null && keepsResult(c)))) return null;
  // An optimizer it builds itself is the usual shape (the model alone is handed in: models.ts).
  if (analysis.optimizers.some((o) => within(o.construction, fn.node))) return null;
  const optimizers = fn.node.getParameters().filter((p) => {
    return Node.isIdentifier(p.getNameNode()) && isOptimizerType(p.getTypeNode()?.getText() ?? "");
  });
  if (optimizers.length !== 1) return null;
  return { entry: { kind: "function", fn, calls: fn.calls }, optimizer: optimizers[0]! };
}

/** The parameter a function returns by its final statement (`return model;`), if that is what it ends with. */
export function returnedParameter(fn: Node): ParameterDeclaration | null {
  if (!Node.isFunctionDeclaration(fn)) return null;
  const body = fn.getBody();
  const last = body && Node.isBlock(body) ? body.getStatements().at(-1) : undefined;
  const value = last && Node.isReturnStatement(last) ? last.getExpression() : undefined;
  if (!value || !Node.isIdentifier(value)) return null;
  return fn.getParameters().find((p) => Node.isIdentifier(p.getNameNode()) && p.getName() === value.getText()) ?? null;
}

/** `x = await f(...)` / `const x = await f(...)`: a call whose result the script keeps in a name. */
export function keepsResult(call: Node): boolean {
  const site = callSiteOf(call);
  return site !== null && ((site.kind === "assign" && site.targetIsName) || site.kind === "declare");
}
