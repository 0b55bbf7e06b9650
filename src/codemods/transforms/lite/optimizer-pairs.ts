/**
 * Optimizers the shared analysis does not pair with a model, in shapes common in real scripts:
 *
 *   const optimizer = model.configureOptimizers(...);   // nanoGPT / minGPT: a factory method
 *   function train(rnn: RNN) { const optimizer = new optim.SGD(rnn.parameters()) }  // a parameter
 *   optimizer = new optim.AdamW(model.parameters());     // assigned, not declared
 *
 * The first two are set up like any pair (`[model, optimizer] = this.setup(model, optimizer)`);
 * an assigned optimizer is set up where it is assigned (`[optimizer] = this.setupOptimizers(optimizer)`).
 */
import { Node, SyntaxKind, unwrap } from "../../morph.ts";
import type { ArrayLiteralExpression, Expression, ExpressionStatement, Identifier, NewExpression, ParameterDeclaration, PropertyAccessExpression, PropertyDeclaration, VariableDeclaration, VariableStatement } from "ts-morph";
import { topLevelStatementOf } from "../../analysis/entry.ts";
import type { ScriptAnalysis } from "../../analysis/types.ts";
import { isFactoryOptimizer } from "../../analysis/optimizer-factories.ts";

export interface ExtraPair {
  /** The model as the optimizer reads it: a name, or a field of a trainer class (`this.model`). */
  model: Identifier | PropertyAccessExpression;
  /** Where the model is declared (a variable, a parameter, or the class's field). */
  modelDeclaration: VariableDeclaration | ParameterDeclaration | PropertyDeclaration;
  optimizer: VariableDeclaration;
}

export interface AssignedOptimizer {
  name: string;
  statement: ExpressionStatement;
  construction: NewExpression;
}

export function extraPairs(analysis: ScriptAnalysis): ExtraPair[] {
  const pairs: ExtraPair[] = [];
  const refs = analysis.references;
  const paired = new Set(analysis.optimizers.filter((o) => o.models.length > 0).flatMap((o) => (o.declaration ? [o.declaration] : [])));
  const factoryMethods = factoryMethodNames(analysis);
  for (const stmt of analysis.sourceFile.getDescendantsOfKind(SyntaxKind.VariableDeclaration)) {
    const decl = stmt as VariableDeclaration;
    if (paired.has(decl) || !Node.isIdentifier(decl.getNameNode())) continue;
    const init = decl.getInitializer();
    if (!init) continue;
    const e = unwrap(init);
    let model: Identifier | PropertyAccessExpression | null = null;
    if (Node.isCallExpression(e)) {
      // `model.configureOptimizers(...)`
      const callee = e.getExpression();
      if (Node.isPropertyAccessExpression(callee) && factoryMethods.has(callee.getName())) {
        const recv = unwrap(callee.getExpression());
        if (Node.isIdentifier(recv)) model = recv;
      }
    } else if (Node.isNewExpression(e)) {
      // `new optim.SGD(rnn.parameters())` where `rnn` is a parameter
      const opt = analysis.optimizers.find((o) => o.construction === e);
      if (opt && opt.models.length === 0) {
        const params = e.getArguments()[0];
        const root = params && parametersRoot(params);
        if (root) model = root;
        // `new optim.Adam(this.model.parameters())` in a trainer class's method
        const field = params && thisFieldParametersRoot(params);
        if (field) model = field;
      }
    }
    if (!model) continue;
    if (Node.isPropertyAccessExpression(model)) {
      const cls = model.getFirstAncestor((a) => Node.isClassDeclaration(a));
      const property = cls && Node.isClassDeclaration(cls) ? cls.getProperty(model.getName()) : undefined;
      if (property && !property.isStatic()) pairs.push({ model, modelDeclaration: property, optimizer: decl });
      continue;
    }
    const modelDeclaration = refs.declarationOf(model);
    if (!modelDeclaration || !(Node.isVariableDeclaration(modelDeclaration) || Node.isParameterDeclaration(modelDeclaration))) continue;
    pairs.push({ model, modelDeclaration, optimizer: decl });
  }
  return pairs;
}

/** `optimizer = new optim.X(...)` as a statement (the variable is declared elsewhere). */
export function assignedOptimizers(analysis: ScriptAnalysis): AssignedOptimizer[] {
  const out: AssignedOptimizer[] = [];
  for (const o of analysis.optimizers) {
    if (o.declaration) continue;
    let parent = o.construction.getParent();
    while (parent && Node.isParenthesizedExpression(parent)) parent = parent.getParent();
    if (!parent || !Node.isBinaryExpression(parent) || parent.getOperatorToken().getText() !== "=") continue;
    const left = unwrap(parent.getLeft());
    const stmt = parent.getParent();
    if (!Node.isIdentifier(left) || !stmt || !Node.isExpressionStatement(stmt)) continue;
    out.push({ name: left.getText(), statement: stmt, construction: o.construction });
  }
  return out;
}

export interface TupleFactoryPair {
  /** `let [model, opt] = getModel();` */
  statement: VariableStatement;
  model: string;
  optimizer: string;
  construction: NewExpression;
}

/**
 * `let [model, opt] = getModel();` where getModel returns `[model, new optim.SGD(model.parameters())]`
 * (nn_tutorial): the pair is set up where it is received.
 */
export function tupleFactoryPairs(analysis: ScriptAnalysis): TupleFactoryPair[] {
  const out: TupleFactoryPair[] = [];
  for (const fn of analysis.functions) {
    for (const o of analysis.optimizers) {
      if (!isFactoryOptimizer(o.construction) || o.construction.getFirstAncestor((a) => a === fn.node) === undefined) continue;
      const returned = returnedArray(o.construction, fn.node);
      if (!returned) continue;
      const { array, element } = returned;
      const elements = array.getElements();
      const optIndex = elements.indexOf(element);
      const root = o.construction.getArguments()[0] && parametersRoot(o.construction.getArguments()[0]!);
      const modelIndex = root ? elements.findIndex((e) => unwrap(e).getText() === root.getText()) : -1;
      if (modelIndex < 0) continue;
      for (const call of fn.calls) {
        let parent = call.getParent();
        while (parent && (Node.isParenthesizedExpression(parent) || Node.isAwaitExpression(parent))) parent = parent.getParent();
        if (!parent || !Node.isVariableDeclaration(parent)) continue;
        const pattern = parent.getNameNode();
        if (!Node.isArrayBindingPattern(pattern)) continue;
        const names = pattern.getElements().map((e) => (Node.isBindingElement(e) && Node.isIdentifier(e.getNameNode()) ? e.getNameNode().getText() : null));
        const model = names[modelIndex];
        const optimizer = names[optIndex];
        const statement = parent.getVariableStatement();
        if (model && optimizer && statement) out.push({ statement, model, optimizer, construction: o.construction });
      }
    }
  }
  return out;
}

/**
 * The array a function returns its optimizer in: `return [model, new optim.SGD(...)]`, or
 * `const optimizer = new optim.SGD(...); ...; return [trainSet, model, optimizer];`.
 */
function returnedArray(construction: NewExpression, fn: Node): { array: ArrayLiteralExpression; element: Expression } | null {
  const parent = construction.getParent();
  if (parent && Node.isArrayLiteralExpression(parent)) return { array: parent, element: construction };
  if (!parent || !Node.isVariableDeclaration(parent) || !Node.isIdentifier(parent.getNameNode())) return null;
  for (const r of fn.getDescendantsOfKind(SyntaxKind.ReturnStatement)) {
    const e = r.getExpression() ? unwrap(r.getExpression()!) : undefined;
    if (!e || !Node.isArrayLiteralExpression(e)) continue;
    const element = e.getElements().find((x) => unwrap(x).getText() === parent.getName());
    if (element) return { array: e, element };
  }
  return null;
}

export interface FactoryAssignment {
  /** `this.optimizer = model.configureOptimizers(config);` */
  statement: ExpressionStatement;
  /** What is assigned, as written: `optimizer`, `this.optimizer`. */
  target: string;
  model: Identifier;
  modelDeclaration: Node;
}

/** Methods that build and return an optimizer (`configureOptimizers`). */
function factoryMethodNames(analysis: ScriptAnalysis): Set<string> {
  const names = new Set<string>();
  for (const o of analysis.optimizers) {
    if (!isFactoryOptimizer(o.construction)) continue;
    const method = o.construction.getFirstAncestor((a) => Node.isMethodDeclaration(a));
    if (method && Node.isMethodDeclaration(method)) names.add(method.getName());
  }
  return names;
}

/** `optimizer = model.configureOptimizers(...)` / `this.optimizer = ...` as a statement (minGPT's Trainer.run). */
export function factoryAssignments(analysis: ScriptAnalysis): FactoryAssignment[] {
  const factories = factoryMethodNames(analysis);
  if (factories.size === 0) return [];
  const out: FactoryAssignment[] = [];
  for (const statement of analysis.sourceFile.getDescendantsOfKind(SyntaxKind.ExpressionStatement)) {
    const e = unwrap(statement.getExpression());
    if (!Node.isBinaryExpression(e) || e.getOperatorToken().getText() !== "=") continue;
    const left = unwrap(e.getLeft());
    const target =
      Node.isIdentifier(left) || (Node.isPropertyAccessExpression(left) && unwrap(left.getExpression()).getKind() === SyntaxKind.ThisKeyword)
        ? left.getText()
        : null;
    const right = unwrap(e.getRight());
    if (!target || !Node.isCallExpression(right)) continue;
    const callee = right.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || !factories.has(callee.getName())) continue;
    const model = unwrap(callee.getExpression());
    if (!Node.isIdentifier(model)) continue;
    const modelDeclaration = analysis.references.declarationOf(model);
    if (!modelDeclaration) continue;
    out.push({ statement, target, model, modelDeclaration });
  }
  return out;
}

/** What `.parameters()` is called on (`model` of `model.parameters()`), or null for another expression. */
function parametersReceiver(expr: Node): Node | null {
  const e = unwrap(expr);
  if (!Node.isCallExpression(e)) return null;
  const callee = e.getExpression();
  if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== "parameters") return null;
  return unwrap(callee.getExpression());
}

export function parametersRoot(expr: Node): Identifier | null {
  const recv = parametersReceiver(expr);
  return recv && Node.isIdentifier(recv) ? recv : null;
}

/** `this.model` of `this.model.parameters()` (in a trainer class's method). */
function thisFieldParametersRoot(expr: Node): PropertyAccessExpression | null {
  const e = unwrap(expr);
  if (!Node.isCallExpression(e) || e.getArguments().length > 0) return null;
  const recv = parametersReceiver(e);
  return recv && Node.isPropertyAccessExpression(recv) && unwrap(recv.getExpression()).getKind() === SyntaxKind.ThisKeyword ? recv : null;
}

/**
 * A top-level script whose optimizer comes from a factory (`const optimizer =
 * model.configureOptimizers(...)` at module level, nanoGPT): the training code starts where
 * the model is declared, so that run() holds the model, its optimizer and their setup.
 */
export function widenScriptEntry(analysis: ScriptAnalysis): ScriptAnalysis {
  const entry = analysis.entry;
  if (entry?.kind !== "script") return analysis;
  const statements = analysis.sourceFile.getStatements();
  let first = statements.indexOf(entry.statements[0]!);
  const last = statements.indexOf(entry.statements[entry.statements.length - 1]!);
  const topStatement = (n: Node): number => statements.indexOf(topLevelStatementOf(n));
  for (const p of extraPairs(analysis)) {
    // (a trainer class's own model and optimizer are the class's: it stays a declaration)
    if (Node.isPropertyDeclaration(p.modelDeclaration)) continue;
    const o = topStatement(p.optimizer);
    const m = topStatement(p.modelDeclaration);
    if (o < 0 || o > last || m < 0) continue;
    first = Math.min(first, o, m);
  }
  // `let [trainDl, validDl] = getData(...)`, `let [model, opt] = getModel()` right before the
  // training code: helpers that build the loaders or the optimizer run in run().
  const builders = new Set(
    analysis.functions.filter((f) =>
      [...analysis.dataloaders.map((d) => d.construction), ...analysis.optimizers.map((o) => o.construction)].some(
        (c) => c.getFirstAncestor((a) => a === f.node) !== undefined,
      ),
    ),
  );
  for (let i = first - 1; i >= 0; i--) {
    const s = statements[i]!;
    if (!Node.isVariableStatement(s)) break;
    const callsBuilder = s.getDeclarations().some((d) => {
      let init: Node | undefined = d.getInitializer();
      if (init) init = unwrap(init);
      if (init && Node.isAwaitExpression(init)) init = unwrap(init.getExpression());
      return !!init && Node.isCallExpression(init) && [...builders].some((f) => f.calls.includes(init as never));
    });
    if (!callsBuilder) break;
    first = i;
  }
  if (first === statements.indexOf(entry.statements[0]!)) return analysis;
  return { ...analysis, entry: { kind: "script", statements: statements.slice(first, last + 1) } };
}
