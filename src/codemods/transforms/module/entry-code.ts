/**
 * The training function's own statements around the epoch loop:
 *
 *   before it   seeding and other code that reads nothing of the function  → the top level, before the module is built
 *               models, optimizers, data                                    → fields, configureOptimizers, data hooks
 *               anything else (resuming from a checkpoint, a log line)      → onFitStart (after configureOptimizers)
 *   after it    a test loop and the code around it                          → onTestEpochStart / testStep / onTestEpochEnd
 *               anything else (saving the model)                            → onFitEnd
 *
 * `model.train()` / `model.eval()` go: the Trainer sets the modes.
 */
import type { Statement } from "ts-morph";
import { Node, SyntaxKind, unwrap } from "../../morph.ts";
import type { ModuleBuilder } from "./builder.ts";
import { placeCallStatement } from "./epoch-hooks.ts";
import { declaredNames, isModeCall, mutatedAnywhere, returnsIn, within } from "./statements.ts";
import { CannotMap } from "./structure.ts";
import { isWrite } from "../shared/writes.ts";
import { isFunctionLike } from "../../analysis/functions.ts";
import { torchPath } from "../../analysis/torch.ts";
import { returnedParameter } from "../../analysis/handed-in.ts";

/** Places the statements after training (the test section, or onFitEnd). Those before it wait for the data pass. */
export function placeCodeAfterTraining(m: ModuleBuilder): void {
  const { entry, trainingStatement, test } = m.structure;
  const statements = entry.statements;
  const after = statements.slice(statements.indexOf(trainingStatement) + 1);
  returnedResult(m, after);
  if (!test) {
    for (const s of after) if (!m.isPlaced(s)) m.place(s, isModeCall(s, m) ? "drop" : "onFitEnd");
    if (after.some((s) => m.destinationOf(s) === "onFitEnd")) m.note("code after the epoch loop → onFitEnd()");
    return;
  }
  const iTest = after.indexOf(test.statement);
  after.forEach((s, i) => {
    if (m.isPlaced(s) && s !== test.statement) return;
    if (s === test.statement) {
      if (test.helper) {
        for (const t of test.helper.pre) if (!m.isPlaced(t)) m.place(t, isModeCall(t, m) ? "drop" : "onTestEpochStart");
        for (const t of test.helper.post) if (!m.isPlaced(t)) m.place(t, "onTestEpochEnd");
        placeCallStatement(m, test, (t) => m.place(t, "onTestEpochEnd"));
      } else if (!m.isPlaced(s)) {
        m.place(s, "drop");
      }
      return;
    }
    if (isModeCall(s, m)) m.place(s, "drop");
    else m.place(s, i < iTest ? "onTestEpochStart" : "onTestEpochEnd");
  });
}

/**
 * `return allLosses;` ending the training function, whose caller keeps the value (`const
 * allLosses = train(...)`): the variable becomes a field (fields.ts, forced) and the call site
 * reads it from the module once fit returns (trainer.ts). The return itself goes.
 */
function returnedResult(m: ModuleBuilder, after: Statement[]): void {
  const last = after[after.length - 1];
  if (!last || !Node.isReturnStatement(last) || !m.structure.entry.fn) return;
  const value = last.getExpression();
  // `return model;` handing back the model it was given (the transfer-learning tutorial's
  // train_model): the caller's own variable already holds it, trained (trainer.ts).
  const param = returnedParameter(m.structure.entry.fn.node);
  if (param) {
    m.returnedParameter = param;
    m.place(last, "drop");
    m.note(`${value!.getText()}, which ${m.structure.entry.fn.name}() returns (line ${m.line(last)}), is the caller's own ${param.getName()} argument, trained in place`);
    return;
  }
  const decl = value && Node.isIdentifier(value) ? m.ctx.analysis.references.declarationOf(value) : undefined;
  const statement = decl && Node.isVariableDeclaration(decl) ? decl.getVariableStatement() : undefined;
  if (!decl || !statement || !m.structure.entry.statements.includes(statement)) return;
  m.result = { declaration: decl, field: null };
  m.place(last, "drop");
  m.note(`${value!.getText()}, which ${m.structure.entry.fn.name}() returns (line ${m.line(last)}) → a field the call site reads after fit`);
}

/**
 * Configuration before training: with one place that runs the training code (a top-level
 * script, or one call of main), the code that builds nothing of the module — argument parsing,
 * `let epochs = 3`, options objects and the `if` that adjusts them, the device report, seeding —
 * stays there and runs before the module is built: the Trainer's flags can read it, and so can
 * the module (its declarations become top-level names). Runs before the data pass, which would
 * otherwise take `args` as data code.
 */
export function placeConfiguration(m: ModuleBuilder): void {
  if (!keepsCallSiteDeclarations(m)) {
    keepWhatTheHandlersRead(m);
    return;
  }
  const kept = new Set<Node>(m.callSite);
  for (const s of statementsBeforeTraining(m)) {
    if (m.isPlaced(s) || m.config.has(s) || m.ctx.edits.covers(s.getStart(), s.getEnd()) || isModeCall(s, m)) continue;
    if (keepable(m, s, kept)) {
      m.place(s, "callSite");
      kept.add(s);
    }
  }
}

/**
 * A training function called several times whose training runs inside its own `try { } finally`
 * (the transfer-learning tutorial removes its checkpoint directory there): the try goes around
 * each call's Trainer (trainer.ts), so what its catch and finally read (`tempdir`) is computed
 * there, at each call, in a block of its own — and so is what is derived from it alone
 * (`bestModelParamsPath = join(tempdir, ...)`). Those the module reads are handed to its
 * constructor (`new LitModule(model, ..., bestModelParamsPath)`), as the call site's values.
 */
function keepWhatTheHandlersRead(m: ModuleBuilder): void {
  const t = m.structure.tryAround;
  if (!t || !m.structure.entry.fn) return;
  const refs = m.ctx.analysis.references;
  const before = statementsBeforeTraining(m);
  const declaring = (id: Node) => {
    const d = Node.isIdentifier(id) ? refs.declarationOf(id) : undefined;
    return d ? before.find((b) => within(d, b)) : undefined;
  };
  const kept = new Set<Statement>();
  const keep = (s: Statement, why: Node) => {
    if (kept.has(s)) return;
    if (m.isPlaced(s) || !keepable(m, s, kept) || !Node.isVariableStatement(s)) {
      throw new CannotMap(s, `the ${t.getFinallyBlock() ? "finally" : "catch"} around the training loop reads \`${why.getText()}\`, which this code computes from the training function's own state; compute it from the function's arguments`);
    }
    for (const id of s.getDescendantsOfKind(SyntaxKind.Identifier)) {
      const d = declaring(id);
      if (d && d !== s) keep(d, id);
    }
    kept.add(s);
  };
  const handlers = [t.getCatchClause(), t.getFinallyBlock()].filter((h): h is NonNullable<typeof h> => h !== undefined);
  for (const handler of handlers) {
    for (const id of handler.getDescendantsOfKind(SyntaxKind.Identifier)) {
      const d = declaring(id);
      if (d) keep(d, id);
    }
  }
  if (kept.size === 0) return;
  // (`const bestModelParamsPath = join(tempdir, ...)`: derived from what is kept, with a type to hand on)
  for (const s of before) {
    if (kept.has(s) || m.isPlaced(s) || !Node.isVariableStatement(s) || !keepable(m, s, kept)) continue;
    const readsKept = s.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => kept.has(declaring(id)!));
    if (readsKept && declaredNames(s).every((n) => valueType(m, n) !== null)) kept.add(s);
  }
  for (const s of before.filter((b) => kept.has(b))) {
    m.place(s, "callSite");
    for (const name of declaredNames(s)) {
      const readByModule = refs.usesOf(name).some((u) => !before.some((b) => kept.has(b) && within(u, b)) && !handlers.some((h) => within(u, h)));
      if (!readByModule) continue;
      const type = valueType(m, name);
      if (type === null) {
        throw new CannotMap(s, `\`${name.getText()}\` is computed before the module is built (its try's handlers read it) and the module reads it too; give it a type annotation`);
      }
      const field = m.freshMember(name.getText());
      m.handedToConstructor.push({ field, type, argument: name.getText() });
      m.rewrites.set(name.getParentOrThrow(), (_use, method) => (method === "callSite" ? null : `this.${field}`));
    }
  }
  m.note(`${kept.size} statement(s) the try's handlers read (line ${m.line(t)}) → run at each call, before the module is built; what the module reads of them → its constructor`);
}

/**
 * The type of a variable as the script writes it, or as its initializer says without the checker:
 * a string (a literal, a template, node:path / node:os / node:fs calls that return a path).
 */
function valueType(m: ModuleBuilder, name: Node): string | null {
  const decl = name.getParent();
  if (!decl || !Node.isVariableDeclaration(decl)) return null;
  const annotation = decl.getTypeNode();
  if (annotation) return annotation.getText();
  const init = decl.getInitializer();
  if (!init) return null;
  const e = unwrap(init);
  if (Node.isStringLiteral(e) || Node.isNoSubstitutionTemplateLiteral(e) || Node.isTemplateExpression(e)) return "string";
  if (Node.isCallExpression(e) && returnsAPath(m, e.getExpression())) return "string";
  return null;
}

const PATH_FUNCTIONS: Record<string, ReadonlySet<string>> = {
  path: new Set(["join", "resolve", "dirname", "basename", "relative", "normalize", "extname", "format"]),
  os: new Set(["tmpdir", "homedir", "hostname"]),
  fs: new Set(["mkdtempSync", "realpathSync"]),
};

/** `join(...)` imported from node:path, or `path.join(...)` through its namespace. */
function returnsAPath(m: ModuleBuilder, callee: Node): boolean {
  const refs = m.ctx.analysis.references;
  const moduleOf = (id: Node): string | null => {
    const d = Node.isIdentifier(id) ? refs.declarationOf(id) : undefined;
    const importDecl = d?.getFirstAncestor((a) => Node.isImportDeclaration(a));
    if (!importDecl || !Node.isImportDeclaration(importDecl)) return null;
    return importDecl.getModuleSpecifierValue().replace(/^node:/, "").replace(/\/promises$/, "");
  };
  if (Node.isIdentifier(callee)) {
    const mod = moduleOf(callee);
    const d = refs.declarationOf(callee);
    const imported = d && Node.isImportSpecifier(d) ? d.getName() : callee.getText();
    return mod !== null && PATH_FUNCTIONS[mod]?.has(imported) === true;
  }
  if (Node.isPropertyAccessExpression(callee)) {
    const mod = moduleOf(unwrap(callee.getExpression()));
    return mod !== null && PATH_FUNCTIONS[mod]?.has(callee.getName()) === true;
  }
  return false;
}

/**
 * Places what is left before training once data and optimizers have theirs: code that reads
 * nothing of the training function runs at the top level before the module is built (seeding
 * must precede the models' construction); the rest runs in onFitStart.
 */
export function placeCodeBeforeTraining(m: ModuleBuilder): void {
  const kept = new Set<Node>(m.callSite);
  for (const s of statementsBeforeTraining(m)) {
    if (m.isPlaced(s) || m.config.has(s)) continue;
    if (m.ctx.edits.covers(s.getStart(), s.getEnd())) m.place(s, "drop");
    else if (isModeCall(s, m)) m.place(s, "drop");
    else if (Node.isExpressionStatement(s) && !readsTrainingCode(m, s, kept) && !overwritesWhatTheModuleReads(m, s, kept)) m.place(s, "callSite");
    else {
      // (`if (args.evaluate) { validate(...); return; }` ends main before training: a hook cannot)
      const returns = returnsIn(s);
      if (returns.length > 0) endFitInsteadOfReturning(m, returns);
      m.place(s, "onFitStart");
    }
  }
  const hoisted = m.callSite.length;
  if (hoisted > 0) m.note(`${hoisted} statement(s) that read nothing of what the module builds (arguments, seeding) → run before the module is built`);
}

/**
 * `checkpoint = null` after `optimizer.loadStateDict(checkpoint!.optimizer)` (nanoGPT freeing the
 * checkpoint): a write to what an earlier statement now in the module reads. Kept at the call
 * site it would run before the module's hook reads the value; in the hook, it runs after, as in
 * the script.
 */
function overwritesWhatTheModuleReads(m: ModuleBuilder, s: Statement, kept: ReadonlySet<Node>): boolean {
  const refs = m.ctx.analysis.references;
  const earlier = statementsBeforeTraining(m).filter((t) => t.getStart() < s.getStart());
  return s.getDescendantsOfKind(SyntaxKind.Identifier).some(
    (id) =>
      isWrite(id) &&
      refs.usesOf(id).some((u) => {
        if (isWrite(u)) return false;
        const t = earlier.find((e) => within(u, e));
        if (!t || kept.has(t) || m.config.has(t)) return false;
        // (not placed yet: what is not kept at the call site goes into the module)
        const where = m.destinationOf(t);
        return where !== "callSite" && where !== "drop" && where !== "copied";
      }),
  );
}

function statementsBeforeTraining(m: ModuleBuilder): Statement[] {
  const { entry, trainingStatement } = m.structure;
  return entry.statements.slice(0, entry.statements.indexOf(trainingStatement));
}

/** Whether `s` can run before the module is built, given the statements already kept there. */
function keepable(m: ModuleBuilder, s: Statement, kept: ReadonlySet<Node>): boolean {
  // A function or class declared in main that reads none of main's locals is a top-level declaration there.
  if (Node.isFunctionDeclaration(s) || Node.isClassDeclaration(s)) return !readsTrainingCode(m, s, kept);
  if (!Node.isVariableStatement(s) && !Node.isExpressionStatement(s) && !Node.isIfStatement(s)) return false;
  if (readsTrainingCode(m, s, kept) || buildsTorchObjects(m, s) || readsTheClock(s)) return false;
  if (s.getDescendantsOfKind(SyntaxKind.ReturnStatement).length > 0) return false;
  if (Node.isExpressionStatement(s) && overwritesWhatTheModuleReads(m, s, kept)) return false;
  if (!Node.isVariableStatement(s)) return true;
  if (m.structure.entry.fn && declaresParameterNames(m, s)) return false;
  // (`const allLosses = []` that training pushes to is the module's state)
  if (declaredNames(s).some((n) => mutatedAnywhere(m.ctx.analysis.references.usesOf(n).filter((u) => !statementsBeforeTraining(m).some((b) => within(u, b)))))) return false;
  return writtenOnlyBeforeModule(m, s, kept);
}

/**
 * A variable kept at the call site must not change once the module is built (`let startEpoch = 0`
 * that resuming code sets in onFitStart is the module's, a field): every write to it is in a
 * statement before training that is kept there too.
 */
function writtenOnlyBeforeModule(m: ModuleBuilder, s: Statement, kept: ReadonlySet<Node>): boolean {
  const before = statementsBeforeTraining(m);
  const withThis = new Set([...kept, s]);
  return declaredNames(s).every((name) =>
    m.ctx.analysis.references.usesOf(name).every((use) => {
      if (!isWrite(use)) return true;
      const t = before.find((b) => within(use, b));
      return t !== undefined && t !== s && t.getStart() > s.getStart() && !Node.isVariableStatement(t) && keepable(m, t, withThis);
    }),
  );
}

/**
 * `if (args.evaluate) { validate(valLoader, model, criterion, args); return; }` before training
 * (pytorch/examples imagenet): main ends there and nothing trains. In onFitStart that is
 * `this.trainer.shouldStop = true; return;` — the Trainer then runs no epoch — as long as nothing
 * of the script runs after training in the module (onFitEnd, a test loop), which main would skip.
 */
function endFitInsteadOfReturning(m: ModuleBuilder, returns: Node[]): void {
  const after = ["onFitEnd", "onTestEpochStart", "testStep", "onTestEpochEnd"] as const;
  const [valued] = returns.filter((r) => Node.isReturnStatement(r) && r.getExpression() !== undefined);
  if (valued || after.some((h) => m.has(h)) || m.structure.test) {
    throw new CannotMap(valued ?? returns[0]!, "`return` before training ends the training function early, and code after training would still run in the module; run that path with trainer.validate(model) instead of trainer.fit(model)");
  }
  for (const r of returns) m.ctx.edits.insert(r.getStart(), "this.trainer.shouldStop = true;\n", "module-return");
  m.note(`\`return\` before training (line ${m.line(returns[0]!)}) → this.trainer.shouldStop = true in onFitStart: the Trainer runs no epoch`);
}

/** `const started = performance.now()` marks a moment: it runs where it ran (onFitStart), not earlier. */
function readsTheClock(s: Node): boolean {
  return s.getDescendants().some(
    (n) =>
      (Node.isCallExpression(n) && /^(performance\.now|Date\.now|process\.hrtime(\.bigint)?)$/.test(n.getExpression().getText())) ||
      (Node.isNewExpression(n) && n.getExpression().getText() === "Date" && (n.getArguments() ?? []).length === 0),
  );
}

/** Torch calls that configure rather than build (they may run before the module exists). */
const CONFIGURING_CALLS = /^(accelerator|cuda)\.\w+$|^(device|manualSeed|initialSeed)$/;

/**
 * Whether `s` builds torch objects (datasets, layers, tensors, random draws), itself or through
 * the script's own functions it calls (`makeData(512)`): those belong to the module.
 */
function buildsTorchObjects(m: ModuleBuilder, s: Node, seen = new Set<Node>()): boolean {
  const { references: refs, functions } = m.ctx.analysis;
  return [s, ...s.getDescendants()].some((n) => {
    if (!Node.isCallExpression(n) && !Node.isNewExpression(n)) return false;
    const callee = n.getExpression();
    const path = torchPath(callee, refs);
    if (path !== null) return Node.isNewExpression(n) || !CONFIGURING_CALLS.test(path);
    const fn = Node.isIdentifier(callee) ? functions.find((f) => f.calls.includes(n as never)) : undefined;
    if (!fn || seen.has(fn.node)) return false;
    seen.add(fn.node);
    return buildsTorchObjects(m, fn.node, seen);
  });
}

/** Whether code that declares names may run at the call site (one place runs the training code, so its names are top-level names). */
export function keepsCallSiteDeclarations(m: ModuleBuilder): boolean {
  const { entry } = m.structure;
  // (a call inside another function, `run(hparams)` in main, would make them that function's locals)
  return entry.fn === null || (entry.calls.length === 1 && entry.calls[0]!.getFirstAncestor((a) => isFunctionLike(a)) === undefined);
}

/** A statement kept before the module is built may not redeclare a name the call site already binds for main's parameters. */
function declaresParameterNames(m: ModuleBuilder, s: Node): boolean {
  const params = new Set(m.structure.entry.params.map((p) => p.getName()));
  return Node.isVariableStatement(s) && s.getDeclarations().some((d) => params.has(d.getName()));
}

/**
 * Whether a statement reads a local of the training function (its parameters excepted: they
 * exist at the call site; so do the locals declared by the statements in `kept`, and the
 * statement's own).
 */
export function readsTrainingCode(m: ModuleBuilder, s: Node, kept: ReadonlySet<Node> = new Set()): boolean {
  const fn = m.structure.entry.fn?.node;
  const params = new Set<Node>(m.structure.entry.params);
  const entry = m.structure.entry.statements;
  return s.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => {
    const d = m.ctx.analysis.references.declarationOf(id);
    if (!d || params.has(d) || within(d, s)) return false;
    for (const k of kept) if (within(d, k)) return false;
    if (fn && d.getStart() >= fn.getStart() && d.getEnd() <= fn.getEnd()) return true;
    return entry.some((t: Statement) => d.getStart() >= t.getStart() && d.getEnd() <= t.getEnd());
  });
}
