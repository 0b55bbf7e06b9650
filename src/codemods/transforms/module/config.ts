/**
 * Configuration constants: `const accumSteps = args.accumSteps;`, `const ckptPath =
 * join(args.ckptDir, "last.ckpt");` — values computed from the arguments and literals only,
 * with no side effect and no random draw. Code that reads one moves into several methods, so
 * instead of becoming a field the declaration is copied to the top of each method that reads it
 * (it computes the same value anywhere), and at the call site its value can be written out
 * (`accumulateGradBatches: 4`).
 */
import type { Identifier, Statement, VariableStatement } from "ts-morph";
import { Node, SyntaxKind, VariableDeclarationKind } from "../../morph.ts";
import type { ModuleBuilder } from "./builder.ts";
import { mutatedAnywhere } from "./statements.ts";

/** Functions a configuration value may call: pure, and reading nothing the script changes. */
const PURE_GLOBALS = /^(Math\.(?!random$)\w+|Number|String|Boolean|parseInt|parseFloat|Number\.\w+|JSON\.stringify|Array\.from|Object\.keys)$/;
const PURE_PATH_FUNCTIONS = new Set(["join", "resolve", "dirname", "basename", "extname", "relative", "normalize"]);

export class ConfigConstants {
  /** The constant statements of the entry body, in order. */
  readonly statements: VariableStatement[] = [];

  constructor(private readonly m: ModuleBuilder) {
    const entry = m.structure.entry.statements;
    const trainingStart = m.structure.trainingStatement.getStart();
    for (const s of entry) {
      if (s.getStart() >= trainingStart) break;
      if (!Node.isVariableStatement(s) || s.getDeclarationKind() !== VariableDeclarationKind.Const) continue;
      if (m.ctx.edits.covers(s.getStart(), s.getEnd())) continue;
      const ok = s.getDeclarations().every(
        (d) => Node.isIdentifier(d.getNameNode()) && d.getInitializer() !== undefined && this.isPure(d.getInitializer()!) && !mutatedAnywhere(this.m.ctx.analysis.references.usesOf(d.getNameNode() as Identifier)),
      );
      if (ok) this.statements.push(s);
    }
  }

  has(s: Node): boolean {
    return this.statements.includes(s as VariableStatement);
  }

  /** The constant statement declaring what `id` refers to, if it is one. */
  statementOf(id: Identifier): VariableStatement | null {
    const decl = this.m.ctx.analysis.references.declarationOf(id);
    if (!decl || !Node.isVariableDeclaration(decl)) return null;
    const s = decl.getVariableStatement();
    return s && this.has(s) ? s : null;
  }

  /** `s` and the constants it reads, in declaration order. */
  withDependencies(s: VariableStatement): VariableStatement[] {
    const needed = new Set<VariableStatement>();
    const visit = (t: VariableStatement) => {
      if (needed.has(t)) return;
      needed.add(t);
      for (const id of t.getDescendantsOfKind(SyntaxKind.Identifier)) {
        const dep = this.statementOf(id);
        if (dep && dep !== t) visit(dep);
      }
    };
    visit(s);
    return this.statements.filter((t) => needed.has(t));
  }

  /** Marks the constants as code copied into methods (so that their reads are written the module's way). */
  placeAll(): void {
    for (const s of this.statements) this.m.place(s, "copied");
  }

  /** Copies the constants that moved code reads to the top of the methods that read them. */
  copyIntoMethods(): void {
    const m = this.m;
    for (const s of this.statements) {
      for (const d of s.getDeclarations()) {
        for (const use of m.ctx.analysis.references.usesOf(d.getNameNode() as Identifier)) {
          if (m.ctx.edits.covers(use.getStart(), use.getEnd())) continue;
          const method = m.methodOf(use);
          if (method === null || method === "callSite" || method === "drop" || method === "copied") continue;
          for (const dep of this.withDependencies(s)) m.prelude(method, { kind: "statement", node: dep as Statement });
        }
      }
    }
  }

  /** Whether a constant may read `decl`: main's parameters, earlier constants, module-level names, its own callbacks' parameters. */
  private readable(decl: Node, init: Node): boolean {
    const inside = (n: Node, outer: Node) => outer.getStart() <= n.getStart() && n.getEnd() <= outer.getEnd();
    if (inside(decl, init)) return true;
    if (this.m.structure.entry.params.includes(decl as never)) return true;
    const statement = this.m.structure.entry.statements.find((s) => inside(decl, s));
    if (statement) return this.has(statement);
    const fn = this.m.structure.entry.fn?.node;
    return !(fn && inside(decl, fn));
  }

  private isPure(e: Node): boolean {
    const refs = this.m.ctx.analysis.references;
    let pure = true;
    const visit = (n: Node): void => {
      if (!pure) return;
      if (Node.isNewExpression(n) || Node.isAwaitExpression(n) || Node.isYieldExpression(n) || Node.isTaggedTemplateExpression(n)) {
        pure = false;
        return;
      }
      if (Node.isPostfixUnaryExpression(n) || (Node.isPrefixUnaryExpression(n) && [SyntaxKind.PlusPlusToken, SyntaxKind.MinusMinusToken].includes(n.getOperatorToken()))) {
        pure = false;
        return;
      }
      if (Node.isBinaryExpression(n)) {
        const op = n.getOperatorToken().getKind();
        if (op >= SyntaxKind.FirstAssignment && op <= SyntaxKind.LastAssignment) {
          pure = false;
          return;
        }
      }
      if (Node.isArrowFunction(n) || Node.isFunctionExpression(n)) {
        // A callback (`Array.from({ length }, (_, i) => i)`) is fine if its body is.
        n.forEachChild(visit);
        return;
      }
      if (Node.isCallExpression(n)) {
        const callee = n.getExpression();
        const text = callee.getText();
        const root = Node.isIdentifier(callee) ? callee : null;
        const importedFromPath =
          root !== null &&
          PURE_PATH_FUNCTIONS.has(root.getText()) &&
          (() => {
            const decl = refs.declarationOf(root);
            if (!decl || !Node.isImportSpecifier(decl)) return false;
            const spec = decl.getImportDeclaration().getModuleSpecifierValue();
            return spec === "node:path" || spec === "path";
          })();
        if (!PURE_GLOBALS.test(text) && !importedFromPath) {
          pure = false;
          return;
        }
      }
      if (Node.isIdentifier(n)) {
        const decl = refs.declarationOf(n);
        if (decl && !this.readable(decl, e)) {
          pure = false;
          return;
        }
      }
      n.forEachChild(visit);
    };
    visit(e);
    return pure;
  }
}
