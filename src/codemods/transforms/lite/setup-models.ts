/**
 * `[model, optimizer] = this.setup(model, optimizer)` right after the last optimizer is created,
 * one call per model as Fabric does (a GAN gets `[g, optG] = this.setup(g, optG)` and
 * `[d, optD] = this.setup(d, optD)`); the `const` declarations of both become `let`. A model
 * with no optimizer (one restored for evaluation, a frozen teacher) is set up on its own.
 */
import { Node, VariableDeclarationKind, unwrap, within } from "../../morph.ts";
import { assignedOptimizers, extraPairs, factoryAssignments, parametersRoot, tupleFactoryPairs } from "./optimizer-pairs.ts";
import { isFactoryOptimizer } from "../../analysis/optimizer-factories.ts";
import type { Identifier, Statement, VariableStatement } from "ts-morph";
import type { ReferenceIndex } from "../../analysis/references.ts";
import type { ModelInstance, OptimizerInstance } from "../../analysis/types.ts";
import type { TransformContext } from "../context.ts";
import { endOfLineAfter, indentationAt, newlineOf } from "../shared/ranges.ts";
import type { LiteAccess } from "./lite-access.ts";
import { inStatementList } from "../shared/device/strip-moves.ts";

interface Group {
  model: ModelInstance;
  optimizers: OptimizerInstance[];
}

/** The statement text for one model: the only place that knows `setup`'s return shape. */
export function setupStatement(receiver: string, model: string, optimizers: string[]): string {
  const names = [model, ...optimizers].join(", ");
  return `[${names}] = ${receiver}.setup(${names});`;
}

export function setupModels(ctx: TransformContext, access: LiteAccess): void {
  const { analysis, edits, todos } = ctx;
  const text = analysis.text;
  const nl = newlineOf(text);

  const pairs = extraPairs(analysis);
  const assigned = assignedOptimizers(analysis);
  const pairedByExtra = new Set<Node>(pairs.map((p) => p.optimizer.getInitializer()).filter((n): n is NonNullable<typeof n> => !!n).map((n) => unwrap(n)));
  for (const opt of analysis.optimizers) {
    if (edits.covers(opt.construction.getStart(), opt.construction.getEnd())) continue;
    if (isFactoryOptimizer(opt.construction) || pairedByExtra.has(opt.construction)) continue;
    if (assigned.some((a) => a.construction === opt.construction) && access.isInRun(opt.construction)) continue;
    if (opt.models.length === 0) {
      todos.add(opt.construction, "cannot tell which model this optimizer trains; call this.setup(model, optimizer) after creating both");
    } else if (!opt.name) {
      todos.add(opt.construction, "assign this optimizer to a variable and pass it to this.setup(model, optimizer)");
    }
  }

  const tuplePairs = tupleFactoryPairs(analysis);
  const statementOf = (n: { getVariableStatement(): VariableStatement | undefined }) => n.getVariableStatement() ?? null;
  const letifyLater: (VariableStatement | null)[] = [];
  const groupsByAnchor = new Map<Statement, Group[]>();
  const pending: { group: Group; statement: Statement; block: Node; last: Statement }[] = [];
  // (a model whose optimizer its own method builds is set up with it, below: setting it up alone first would set it up twice)
  const pairedModels = new Set<Node>(pairs.map((p) => p.modelDeclaration));
  for (const model of analysis.models) {
    if (model.optimizers.length === 0 && (pairedModels.has(model.declaration) || !standaloneModel(model, analysis.references))) continue;
    const statement = statementOf(model.declaration);
    if (!statement || !inStatementList(statement) || !access.isInRun(model.declaration)) {
      // Returned with its optimizer by a helper (`return [model, new optim.SGD(...)]`): set up where received.
      const receivedAsPair = model.optimizers.length > 0 && model.optimizers.every((o) => tuplePairs.some((t) => t.construction === o.construction));
      if (model.optimizers.length > 0 && !receivedAsPair) {
        todos.add(model.declaration, `${model.name} and its optimizer are created outside run(); call this.setup(${model.name}, optimizer) in run()`);
      }
      continue;
    }
    const block = statement.getParentOrThrow();
    const optimizers: OptimizerInstance[] = [];
    let last: Statement = statement;
    for (const opt of model.optimizers) {
      // An optimizer over several models is set up with the first of them.
      if (opt.models[0] !== model || !opt.name || !opt.declaration) continue;
      const optStatement = statementOf(opt.declaration);
      if (!optStatement || optStatement.getParent() !== block) {
        todos.add(opt.construction, `create ${opt.name} next to ${model.name} so that this.setup(${model.name}, ${opt.name}) can see both`);
        continue;
      }
      optimizers.push(opt);
      if (optStatement.getStart() > last.getStart()) last = optStatement;
    }
    // `let model: Net; if (...) model = new A(); else model = new B();`: set up once assigned.
    if (!model.declaration.getInitializer()) {
      for (const use of analysis.references.usesOf(model.declaration.getNameNode() as Identifier)) {
        const parent = use.getParent();
        if (!parent || !Node.isBinaryExpression(parent) || parent.getLeft() !== use || parent.getOperatorToken().getText() !== "=") continue;
        let top: Node = parent;
        while (top.getParent() && top.getParent() !== block) top = top.getParentOrThrow();
        if (top.getParent() === block && top.getStart() > last.getStart()) last = top as Statement;
      }
    }
    pending.push({ group: { model, optimizers }, statement, block, last });
  }

  // All models with optimizers in one block are set up together after the last optimizer;
  // an optimizer-less model joins them when it exists by then, else it follows its declaration.
  const lastByBlock = new Map<Node, Statement>();
  for (const p of pending) {
    if (p.group.optimizers.length === 0) continue;
    const current = lastByBlock.get(p.block);
    if (!current || p.last.getStart() > current.getStart()) lastByBlock.set(p.block, p.last);
  }
  // A model the script uses between its own optimizer and that shared anchor (the
  // transfer-learning tutorial trains one model before building the next) is set up after its own.
  const usedBefore = (p: (typeof pending)[number], anchor: Statement): boolean => {
    const names = [p.group.model.declaration, ...p.group.optimizers.map((o) => o.declaration!)].map((d) => d.getNameNode());
    return names.some(
      (name) =>
        Node.isIdentifier(name) &&
        analysis.references.usesOf(name).some((use) => {
          // (an optimizer built over its parameters is where setup waits for, not a use)
          if (analysis.optimizers.some((o) => within(use, o.construction))) return false;
          const top = statementIn(p.block, use);
          return top !== null && top.getStart() > p.last.getStart() && top.getStart() <= anchor.getStart();
        }),
    );
  };
  for (const p of pending) {
    const shared = lastByBlock.get(p.block);
    const joins = shared && (p.group.optimizers.length > 0 || p.statement.getStart() < shared.getStart()) && !usedBefore(p, shared);
    const anchor = joins ? shared : p.last;
    const list = groupsByAnchor.get(anchor) ?? [];
    list.push(p.group);
    groupsByAnchor.set(anchor, list);
  }

  // Pairs the shared analysis does not see (optimizer-pairs.ts): set up after the optimizer.
  for (const p of pairs) {
    const statement = statementOf(p.optimizer);
    // (in run(), or in a method of a trainer class that holds the Lite instance: `this.lite.setup(this.model, optimizer)`)
    const receiver = statement ? access.receiverAt(statement) : null;
    const inClass = receiver?.ok === true && receiver.receiver !== "this" && Node.isPropertyDeclaration(p.modelDeclaration);
    if (!statement || !inStatementList(statement) || (!access.isInRun(statement) && !inClass)) {
      todos.add(p.optimizer, `${p.model.getText()} and its optimizer are created outside run(); call this.setup(${p.model.getText()}, ${p.optimizer.getName()}) in run()`);
      continue;
    }
    if (Node.isVariableDeclaration(p.modelDeclaration) && !access.isInRun(p.modelDeclaration)) {
      todos.add(p.optimizer, `${p.model.getText()} is created outside run(); call this.setup(${p.model.getText()}, ${p.optimizer.getName()}) in run()`);
      continue;
    }
    const indent = indentationAt(statement.getStart(), text);
    const line = setupStatement(inClass && receiver?.ok ? receiver.receiver : "this", p.model.getText(), [p.optimizer.getName()]);
    edits.insert(endOfLineAfter(statement.getEnd(), text), `${nl}${indent}${line}`, "setup");
    letifyLater.push(statement);
    if (Node.isVariableDeclaration(p.modelDeclaration)) letifyLater.push(statementOf(p.modelDeclaration));
    ctx.counts.setupCalls++;
    ctx.notes.push(`${line.replace(/;$/, "")} after line ${ctx.lineOf(statement.getStart())}`);
  }
  // `this.optimizer = model.configureOptimizers(config)` (minGPT's Trainer.run): set up where assigned.
  for (const f of factoryAssignments(analysis)) {
    const a = access.receiverAt(f.statement);
    if (!a.ok || !inStatementList(f.statement)) continue;
    const indent = indentationAt(f.statement.getStart(), text);
    const line = setupStatement(a.receiver, f.model.getText(), [f.target]);
    edits.insert(endOfLineAfter(f.statement.getEnd(), text), `${nl}${indent}${line}`, "setup");
    const declStatement = Node.isVariableStatement(f.modelDeclaration)
      ? f.modelDeclaration
      : f.modelDeclaration.getFirstAncestor((n) => Node.isVariableStatement(n));
    if (declStatement && Node.isVariableStatement(declStatement)) letifyLater.push(declStatement);
    ctx.counts.setupCalls++;
    ctx.notes.push(`${line.replace(/;$/, "")} after line ${ctx.lineOf(f.statement.getStart())}`);
  }
  // `let [model, opt] = getModel();` → `[model, opt] = this.setup(model, opt);` after it.
  for (const t of tuplePairs) {
    if (!access.isInRun(t.statement) || !inStatementList(t.statement)) continue;
    const indent = indentationAt(t.statement.getStart(), text);
    const line = setupStatement("this", t.model, [t.optimizer]);
    edits.insert(endOfLineAfter(t.statement.getEnd(), text), `${nl}${indent}${line}`, "setup");
    letifyLater.push(t.statement);
    ctx.counts.setupCalls++;
    ctx.notes.push(`${line.replace(/;$/, "")} after line ${ctx.lineOf(t.statement.getStart())}`);
  }
  for (const a of assigned) {
    if (!access.isInRun(a.statement) || !inStatementList(a.statement)) continue;
    const indent = indentationAt(a.statement.getStart(), text);
    // `model = new nn.Sequential(...); opt = new optim.SGD(model.parameters())`: a new model, set up with it.
    const root = a.construction.getArguments()[0] && parametersRoot(a.construction.getArguments()[0]!);
    const block = a.statement.getParentOrThrow();
    const modelAssigned =
      root &&
      block.getChildSyntaxList()?.getChildren().some((s) => {
        if (s.getEnd() > a.statement.getStart() || !Node.isExpressionStatement(s)) return false;
        const e = unwrap(s.getExpression());
        return Node.isBinaryExpression(e) && e.getOperatorToken().getText() === "=" && unwrap(e.getLeft()).getText() === root.getText();
      });
    const line = modelAssigned ? setupStatement("this", root.getText(), [a.name]) : `[${a.name}] = this.setupOptimizers(${a.name});`;
    edits.insert(endOfLineAfter(a.statement.getEnd(), text), `${nl}${indent}${line}`, "setup");
    ctx.counts.setupCalls++;
    ctx.notes.push(`${line.replace(/;$/, "")} after line ${ctx.lineOf(a.statement.getStart())}`);
  }

  const letified = new Set<Node>();
  const letify = (statement: VariableStatement | null) => {
    if (!statement || letified.has(statement)) return;
    letified.add(statement);
    if (statement.getDeclarationKind() !== VariableDeclarationKind.Const) return;
    const list = statement.getDeclarationList();
    edits.replace(list.getStart(), list.getStart() + "const".length, "let", "setup-let");
  };
  letifyLater.forEach(letify);
  for (const [anchor, groups] of groupsByAnchor) {
    const indent = indentationAt(anchor.getStart(), text);
    const guard = anchor.getText().trimEnd().endsWith(";") || anchor.getText().trimEnd().endsWith("}") ? "" : ";";
    const lines = groups.map((g) =>
      setupStatement(
        "this",
        g.model.name,
        g.optimizers.map((o) => o.name!),
      ),
    );
    edits.insert(endOfLineAfter(anchor.getEnd(), text), lines.map((l) => `${nl}${indent}${guard}${l}`).join(""), "setup");
    for (const g of groups) {
      letify(statementOf(g.model.declaration));
      for (const o of g.optimizers) letify(statementOf(o.declaration!));
    }
    ctx.counts.setupCalls += lines.length;
    ctx.notes.push(`${lines.map((l) => l.replace(/;$/, "")).join("; ")} after line ${ctx.lineOf(anchor.getStart())}`);
  }
}

/**
 * A model without optimizer is set up on its own only when it is one (an instance of the
 * script's model class, e.g. restored for evaluation) and not a part of another model: a
 * `new nn.Linear(...)` or a backbone passed to `new Wrapper(backbone)` or stored in a property
 * is set up with the model that holds it.
 */
function standaloneModel(model: ModelInstance, refs: ReferenceIndex): boolean {
  if (model.className === null) return false;
  const name = model.declaration.getNameNode();
  if (!Node.isIdentifier(name)) return false;
  return refs.usesOf(name).every((use) => {
    const parent = use.getParent();
    if (parent && Node.isNewExpression(parent) && parent.getArguments().includes(use)) return false;
    if (parent && Node.isBinaryExpression(parent) && parent.getRight() === use && Node.isPropertyAccessExpression(parent.getLeft())) return false;
    return true;
  });
}

/** The statement of `block` that holds `node`, or null when `node` is outside it. */
function statementIn(block: Node, node: Node): Statement | null {
  let top: Node | undefined = node;
  while (top && top.getParent() !== block) top = top.getParent();
  return (top as Statement | undefined) ?? null;
}
