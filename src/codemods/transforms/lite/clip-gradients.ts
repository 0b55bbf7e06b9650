/**
 * `nn.utils.clipGradNorm(model.parameters(), maxNorm[, normType])` →
 * `this.clipGradients(model, optimizer, { maxNorm[, normType] })` (and `clipGradValue` →
 * `{ clipVal }`).
 * Under mixed precision the gradients are scaled until the optimizer step, so clipping must go
 * through Lite, which unscales first. Needs the model's one optimizer in scope; otherwise the
 * call stays (correct in 32-bit) with a TODO.
 */
import { Node, unwrap } from "../../morph.ts";
import type { BinaryExpression, Identifier } from "ts-morph";
import { assignedOptimizers, extraPairs, factoryAssignments } from "./optimizer-pairs.ts";
import type { TransformContext } from "../context.ts";
import type { LiteAccess } from "./lite-access.ts";

export function rewriteClipGradients(ctx: TransformContext, access: LiteAccess): void {
  const { analysis, edits, todos } = ctx;
  const pairs = extraPairs(analysis);
  const assigned = assignedOptimizers(analysis);
  for (const { call, kind } of analysis.clipGradCalls) {
    if (edits.covers(call.getStart(), call.getEnd())) continue;
    const option = kind === "norm" ? "maxNorm" : "clipVal";
    const todo = (why: string) =>
      todos.add(call, `use this.clipGradients(model, optimizer, { ${option} }) so that clipping sees unscaled gradients (${why})`);
    const [params, limit, normType, ...rest] = call.getArguments();
    if (!params || !limit || rest.length > 0 || (normType && kind === "value")) {
      todo("unexpected arguments");
      continue;
    }
    const model = modelOfParameters(params);
    const decl = model ? analysis.references.declarationOf(model) : undefined;
    const instance = analysis.models.find((m) => m.declaration === decl) ?? modelHandedIn(decl, analysis);
    const only = instance?.optimizers.length === 1 ? instance.optimizers[0]! : null;
    let optimizer: { name: string; declaration: Node } | null = only?.name && only.declaration ? { name: only.name, declaration: only.declaration } : null;
    if (!optimizer && only) {
      // `optimizer = new optim.AdamW(model.parameters())`, declared elsewhere
      const a = assigned.find((x) => x.construction === only.construction);
      const target = a && (a.statement.getExpression() as BinaryExpression).getLeft();
      const d = target && Node.isIdentifier(target) ? analysis.references.declarationOf(target) : undefined;
      if (a && d && Node.isVariableDeclaration(d)) {
        if (a.statement.getParent() !== d.getVariableStatement()?.getParent()) {
          // `if (args.useOptimizer) optimizer = ...`: without it, clipGradients has no optimizer.
          todo(`${a.name} is only created under a condition, and this.clipGradients needs it`);
          continue;
        }
        optimizer = { name: a.name, declaration: d };
      }
    }
    if (!optimizer && decl) {
      // `const optimizer = model.configureOptimizers(...)`, `new optim.SGD(rnn.parameters())` with `rnn` a parameter
      const p = pairs.filter((x) => x.modelDeclaration === decl);
      if (p.length === 1) optimizer = { name: p[0]!.optimizer.getName(), declaration: p[0]!.optimizer };
      // `this.optimizer = model.configureOptimizers(config)` earlier in the same block
      const f = factoryAssignments(analysis).filter((x) => x.modelDeclaration === decl);
      if (!optimizer && f.length === 1) optimizer = { name: f[0]!.target, declaration: f[0]!.statement };
    }
    if (!model || !optimizer) {
      todo("could not tell the model and its optimizer");
      continue;
    }
    // The optimizer's variable must be visible here: declared in a block that contains the call.
    const scope = Node.isVariableDeclaration(optimizer.declaration)
      ? optimizer.declaration.getVariableStatement()?.getParent()
      : Node.isExpressionStatement(optimizer.declaration)
        ? optimizer.declaration.getParent()
        : undefined;
    if (!scope || !(scope.getStart() <= call.getStart() && call.getEnd() <= scope.getEnd())) {
      todo(`${optimizer.name} is not in scope here`);
      continue;
    }
    const a = access.receiverAt(call);
    if (!a.ok) {
      todo(a.reason);
      continue;
    }
    const head = `${a.receiver}.clipGradients(${model.getText()}, ${optimizer.name}, {`;
    // torch spells the max norm "inf"; Lite takes Infinity.
    const norm = normType && (Node.isStringLiteral(normType) && normType.getLiteralValue() === "inf" ? "Infinity" : normType.getText());
    const tail = norm === undefined ? " })" : norm === "normType" ? ", normType })" : `, normType: ${norm} })`;
    if (Node.isIdentifier(limit) && limit.getText() === option) {
      edits.replace(call.getStart(), call.getEnd(), `${head} ${option}${tail}`, "clip-gradients");
    } else {
      // Two edits around the limit expression, which may hold edits of its own.
      edits.replace(call.getStart(), limit.getStart(), `${head} ${option}: `, "clip-gradients");
      edits.replace(limit.getEnd(), call.getEnd(), tail, "clip-gradients");
    }
    ctx.counts.clipGradientsRewritten++;
  }
}

/**
 * `function train(model: Net) { ... }` called with the script's model at every call
 * (`train(model)`): the parameter is that model.
 */
function modelHandedIn(decl: Node | undefined, analysis: TransformContext["analysis"]): TransformContext["analysis"]["models"][number] | undefined {
  if (!decl || !Node.isParameterDeclaration(decl)) return undefined;
  const fn = analysis.functions.find((f) => f.node === decl.getParent());
  const index = fn ? fn.node.getParameters().indexOf(decl) : -1;
  if (!fn || index === -1 || fn.calls.length === 0) return undefined;
  const handed = fn.calls.map((c) => {
    const arg = c.getArguments()[index];
    const id = arg ? unwrap(arg) : undefined;
    const d = id && Node.isIdentifier(id) ? analysis.references.declarationOf(id) : undefined;
    return analysis.models.find((m) => m.declaration === d);
  });
  return handed[0] !== undefined && handed.every((m) => m === handed[0]) ? handed[0] : undefined;
}

/** `model.parameters()` → `model`. */
function modelOfParameters(expr: Node): Identifier | null {
  const e = unwrap(expr);
  if (!Node.isCallExpression(e) || e.getArguments().length > 0) return null;
  const callee = e.getExpression();
  if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== "parameters") return null;
  const receiver = unwrap(callee.getExpression());
  return Node.isIdentifier(receiver) ? receiver : null;
}
