/**
 * Values at the call site. The Trainer is built where the script called `main(...)`, so what
 * the Trainer's flags read from main's arguments is written out from that call:
 *
 *   main({ epochs: 2, lr: 1e-3 });   for (let epoch = 0; epoch < args.epochs; ...)
 *     → new Trainer({ maxEpochs: 2 })
 *
 * A configuration constant (`const accumSteps = args.accumSteps`) is followed to its value. When
 * an argument is not a literal the codemod can read (`main(parseArgs())`), it is kept in a
 * variable named like the parameter (`const args = parseArgs();`) and the flags read from it.
 */
import type { BindingElement, CallExpression, Expression, Identifier, ParameterDeclaration } from "ts-morph";
import { applyEdits, type TextEdit } from "../../edits.ts";
import { Node, SyntaxKind, unwrap } from "../../morph.ts";
import type { ModuleBuilder } from "./builder.ts";
import { within } from "./statements.ts";

export class CallSite {
  /** Parameters whose argument is kept in a variable at the call site (`const args = ...;`). */
  readonly hoisted = new Set<ParameterDeclaration>();

  constructor(
    private readonly m: ModuleBuilder,
    /** The entry call (null for top-level training code, which has no arguments). */
    readonly call: CallExpression | null,
  ) {}

  /** The argument given for `param`, if any. */
  argumentOf(param: ParameterDeclaration): Expression | null {
    if (!this.call) return null;
    const index = this.m.structure.entry.params.indexOf(param);
    const args = this.call.getArguments();
    if (args.slice(0, index + 1).some((a) => Node.isSpreadElement(a))) return null;
    return (args[index] as Expression | undefined) ?? null;
  }

  /** `expr` as it can be written at the call site, or null when it reads what only exists inside the training code. */
  resolve(expr: Node): string | null {
    const refs = this.m.ctx.analysis.references;
    const params = this.m.structure.entry.params;
    const start = expr.getStart();
    const edits: TextEdit[] = [];
    let ok = true;
    const replace = (n: Node, text: string) => edits.push({ start: n.getStart() - start, end: n.getEnd() - start, text, tag: "call-site" });
    const visit = (n: Node): void => {
      if (!ok) return;
      if (Node.isIdentifier(n)) {
        const decl = refs.declarationOf(n);
        if (!decl || isPropertyName(n)) return;
        if (Node.isParameterDeclaration(decl) && params.includes(decl)) {
          const value = this.parameterValue(decl, n);
          if (value === null) {
            this.hoisted.add(decl);
            return;
          }
          replace(value.node, value.text);
          return;
        }
        if (Node.isBindingElement(decl)) {
          const value = this.destructuredValue(decl);
          if (value === null) ok = false;
          else replace(n, parenthesize(value));
          return;
        }
        if (Node.isVariableDeclaration(decl)) {
          const statement = decl.getVariableStatement();
          // Declared by code that runs here, before the module is built.
          if (statement && this.m.destinationOf(statement) === "callSite") return;
          if (statement && this.m.config.has(statement)) {
            const inner = this.resolve(decl.getInitializerOrThrow());
            if (inner === null) ok = false;
            else replace(n, parenthesize(inner));
            return;
          }
        }
        // Anything else declared inside the training code does not exist at the call site.
        const fn = this.m.structure.entry.fn?.node;
        const entryStatements = this.m.structure.entry.statements;
        if ((fn && within(decl, fn)) || entryStatements.some((s) => within(decl, s))) ok = false;
        return;
      }
      n.forEachChild(visit);
    };
    visit(expr);
    if (!ok) return null;
    // Replacements never nest (a property access is replaced whole, its name is not visited).
    edits.sort((a, b) => a.start - b.start);
    const unique = edits.filter((e, i) => i === 0 || e.start >= edits[i - 1]!.end);
    return applyEdits(expr.getText(), unique);
  }

  /** For `args.lr` with `main({ lr: 1e-3 })`: the `args.lr` node and `1e-3`; null when the value must be read from a variable. */
  private parameterValue(param: ParameterDeclaration, use: Identifier): { node: Node; text: string } | null {
    if (this.hoisted.has(param)) return null;
    const arg = this.argumentOf(param);
    if (!arg) return null;
    const value = unwrap(arg);
    const access = use.getParent();
    // `main(config)`: the parameter is that variable.
    if ((Node.isIdentifier(value) || Node.isPropertyAccessExpression(value)) && isSimple(value)) return { node: use, text: value.getText() };
    if (!Node.isObjectLiteralExpression(value)) {
      // `main(2)` with `epochs` the parameter itself: a literal argument is written out.
      return isSimple(value) && !(access && Node.isPropertyAccessExpression(access) && access.getExpression() === use)
        ? { node: use, text: value.getText() }
        : null;
    }
    if (!access || !Node.isPropertyAccessExpression(access) || access.getExpression() !== use) return null;
    const name = access.getName();
    if (value.getProperties().some((p) => Node.isSpreadAssignment(p))) return null;
    const prop = value.getProperty(name);
    if (!prop) return null;
    if (Node.isShorthandPropertyAssignment(prop)) return { node: access, text: prop.getName() };
    if (Node.isPropertyAssignment(prop)) {
      const init = prop.getInitializer();
      if (init && isSimple(init)) return { node: access, text: init.getText() };
    }
    return null;
  }

  /**
   * `nEpoch` of `train(rnn, data, { nEpoch = 10 }: TrainOptions = {})` called as `train(rnn, d,
   * { nEpoch: 3 })`: the argument's literal value, or the default when the argument leaves it out
   * (or is left out); null when only the running function knows it.
   */
  private destructuredValue(element: BindingElement): string | null {
    const pattern = element.getParent();
    const param = pattern?.getParent();
    if (!param || !Node.isParameterDeclaration(param) || !this.m.structure.entry.params.includes(param)) return null;
    if (element.getDotDotDotToken() || !Node.isIdentifier(element.getNameNode())) return null;
    const property = element.getPropertyNameNode()?.getText() ?? element.getName();
    const fallback = () => {
      const init = element.getInitializer();
      return init && isSimple(init) ? init.getText() : null;
    };
    const arg = this.argumentOf(param);
    if (!arg) return this.call ? fallback() : null;
    const value = unwrap(arg);
    if (!Node.isObjectLiteralExpression(value) || value.getProperties().some((q) => Node.isSpreadAssignment(q))) return null;
    const prop = value.getProperty(property);
    if (!prop) return fallback();
    if (Node.isPropertyAssignment(prop)) {
      const init = prop.getInitializer();
      return init && isSimple(init) ? init.getText() : null;
    }
    return null;
  }

  /** The text that passes main's arguments to the module's constructor. */
  constructorArguments(): string {
    if (!this.call) return "";
    const params = this.m.structure.entry.params;
    return this.call
      .getArguments()
      .map((a, i) => (params[i] && this.hoisted.has(params[i]!) ? params[i]!.getName() : this.m.ctx.edits.render(a.getStart(), a.getEnd())))
      .join(", ");
  }
}

/** A value that can be written twice without changing anything: a literal or a plain name. */
function isSimple(n: Node): boolean {
  const e = unwrap(n);
  if (Node.isNumericLiteral(e) || Node.isStringLiteral(e) || Node.isNoSubstitutionTemplateLiteral(e)) return true;
  if (Node.isTrueLiteral(e) || Node.isFalseLiteral(e) || Node.isNullLiteral(e) || Node.isIdentifier(e)) return true;
  if (Node.isPrefixUnaryExpression(e)) return e.getOperatorToken() === SyntaxKind.MinusToken && Node.isNumericLiteral(e.getOperand());
  if (Node.isPropertyAccessExpression(e)) return isSimple(e.getExpression());
  return false;
}

function isPropertyName(id: Identifier): boolean {
  const p = id.getParent();
  return p !== undefined && Node.isPropertyAccessExpression(p) && p.getNameNode() === id;
}

export function parenthesize(text: string): string {
  return /^[\w$.]+$|^-?\d[\d_.e+-]*$|^"[^"]*"$/.test(text) ? text : `(${text})`;
}

/** `a - b` (or `a - b + 1`) written simply when both are numbers. */
export function countExpression(bound: string, start: string, inclusive: boolean): string {
  // `epoch < args.epochs + 1` from 1: `args.epochs`.
  const plus = /^(.+?) \+ (\d+)$/.exec(bound.trim());
  if (plus && Number(start) - (inclusive ? 1 : 0) === Number(plus[2])) return plus[1]!;
  const b = Number(bound);
  const s = Number(start);
  if (bound.trim() !== "" && start.trim() !== "" && Number.isFinite(b) && Number.isFinite(s)) return String(b - s + (inclusive ? 1 : 0));
  const offset = Number(start) - (inclusive ? 1 : 0);
  if (Number.isFinite(offset) && start.trim() !== "") {
    if (offset === 0) return bound;
    return offset > 0 ? `${parenthesize(bound)} - ${offset}` : `${parenthesize(bound)} + ${-offset}`;
  }
  return `${parenthesize(bound)} - ${parenthesize(start)}${inclusive ? " + 1" : ""}`;
}
