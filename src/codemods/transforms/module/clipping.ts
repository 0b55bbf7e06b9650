/**
 * Gradient clipping between backward and the optimizer step → the Trainer's flags:
 *
 *   nn.utils.clipGradNorm(model.parameters(), args.maxNorm);   →  Trainer({ gradientClipVal: 1 })
 *   nn.utils.clipGradValue(model.parameters(), 0.5);           →  Trainer({ gradientClipVal: 0.5, gradientClipAlgorithm: "value" })
 *
 * The Trainer clips at the same point (after backward, before the step, and after unscaling
 * under mixed precision). When the script does more than clip there — reads the returned norm,
 * clips a part of the model, passes a norm type — those statements become the module's
 * `configureGradientClipping` hook instead, which the Trainer calls at exactly that point.
 */
import type { CallExpression, Statement } from "ts-morph";
import { torchPath } from "../../analysis/torch.ts";
import { Node, SyntaxKind, unwrap } from "../../morph.ts";
import type { ModuleBuilder } from "./builder.ts";
import { modelDecls } from "./statements.ts";

export type ClippingPlan =
  | { kind: "none" }
  | { kind: "flags"; statements: Statement[] }
  | { kind: "hook"; statements: Statement[] };

export function planClipping(m: ModuleBuilder, between: Statement[]): ClippingPlan {
  const clipCalls = m.ctx.analysis.clipGradCalls.filter((c) => between.some((s) => s.getStart() <= c.call.getStart() && c.call.getEnd() <= s.getEnd()));
  if (clipCalls.length === 0) return { kind: "none" };
  if (between.every((s) => flagCall(m, s) !== null)) return { kind: "flags", statements: between };
  return { kind: "hook", statements: between };
}

/** The clip call a statement is, when it can be a Trainer flag. */
function flagCall(m: ModuleBuilder, s: Statement): CallExpression | null {
  if (!Node.isExpressionStatement(s)) return null;
  const call = unwrap(s.getExpression());
  if (!Node.isCallExpression(call)) return null;
  const clip = m.ctx.analysis.clipGradCalls.find((c) => c.call === call);
  if (!clip || call.getArguments().length !== 2) return null;
  const [params] = call.getArguments();
  // All of the model's parameters (the Trainer clips what the optimizer steps).
  const p = unwrap(params!);
  if (!Node.isCallExpression(p) || p.getArguments().length > 0) return null;
  const callee = p.getExpression();
  if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== "parameters") return null;
  const owner = unwrap(callee.getExpression());
  const decl = Node.isIdentifier(owner) ? m.ctx.analysis.references.declarationOf(owner) : undefined;
  if (!decl || !modelDecls(m).has(decl) || m.models.length !== 1) return null;
  // The flag is written where the Trainer is built: the limit must be known there.
  if (m.probe.resolve(call.getArguments()[1]!) === null) return null;
  return call;
}

/** Records the flags for clip statements that `planClipping` found flag-able. */
export function applyClippingFlags(m: ModuleBuilder, statements: Statement[]): void {
  for (const s of statements) {
    const call = flagCall(m, s)!;
    const value = call.getArguments()[1]!;
    const byValue = torchPath(call.getExpression(), m.ctx.analysis.references) === "nn.utils.clipGradValue";
    m.flag("gradientClipVal", value, (site) => site.resolve(value));
    if (byValue) m.flag("gradientClipAlgorithm", call, () => `"value"`);
    m.place(s, "drop");
    m.note(`${call.getExpression().getText()}(...) (line ${m.line(s)}) → Trainer({ gradientClipVal: ${value.getText()}${byValue ? `, gradientClipAlgorithm: "value"` : ""} })`);
  }
}

/** Identifiers in `statements` bound to declarations inside `scope` (the batch loop): what a hook could not see. */
export function readsLocalsOf(m: ModuleBuilder, statements: Statement[], scope: Node): string | null {
  for (const s of statements) {
    for (const id of s.getDescendantsOfKind(SyntaxKind.Identifier)) {
      const decl = m.ctx.analysis.references.declarationOf(id);
      if (!decl) continue;
      if (scope.getStart() <= decl.getStart() && decl.getEnd() <= scope.getEnd() && !statements.some((t) => t.getStart() <= decl.getStart() && decl.getEnd() <= t.getEnd())) {
        return id.getText();
      }
    }
  }
  return null;
}
