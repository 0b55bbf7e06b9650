/**
 * The shape of the plain training code, as `--to module` needs it: the entry body (main's
 * statements), the epoch loop and its counter, the batch loop that trains, and the evaluation
 * loops (inside the epoch loop: validation; after it: test). A loop may sit in a helper function
 * that the entry calls (`trainEpoch(model, loader, optimizer)`, `evaluate(model, loader)`); the
 * helper is then inlined: its statements before the loop, its loop, its statements after the
 * loop and its returned value each go where the same code in main would go.
 *
 * What has no Lightning equivalent the codemod can write (a batch loop with no DataLoader, an
 * epoch loop that is not a counted `for`, a `break` out of training) is a `CannotMap`: the
 * script is then left as it is, with a TODO at that construct.
 */
import type {
  CallExpression,
  VariableDeclarationList,
  Expression,
  ForOfStatement,
  ForStatement,
  Identifier,
  ParameterDeclaration,
  PropertyAccessExpression,
  ReturnStatement,
  Statement,
  TryStatement,
  VariableDeclaration,
} from "ts-morph";
import { isDeclarationStatement } from "../../analysis/entry.ts";
import { isFunctionLike, statementOfCall } from "../../analysis/functions.ts";
import type { LocalFunction, ScriptAnalysis } from "../../analysis/types.ts";
import { MigrationError, positionAt } from "../../errors.ts";
import { Node, SyntaxKind, VariableDeclarationKind, unwrap } from "../../morph.ts";
import { jumpsOutOf, returnsIn, within } from "./statements.ts";
import { isWrite } from "../shared/writes.ts";

/** A construct `--to module` cannot express; the script stays as it is, marked at `node`. */
export class CannotMap extends Error {
  constructor(
    readonly node: Node,
    readonly reason: string,
  ) {
    super(reason);
    this.name = "CannotMap";
  }
}

export interface EntryBody {
  /** The training function (null for top-level training code). */
  fn: LocalFunction | null;
  /** Its statements (or the top-level training statements). */
  statements: Statement[];
  /** Its parameters: they become the module's constructor parameters. */
  params: ParameterDeclaration[];
  /** Top-level calls of the function (none for top-level code). */
  calls: CallExpression[];
  /**
   * `try { ...training... } catch/finally { ... }` among them (word_language_model stops on
   * Ctrl+C this way; the transfer-learning tutorial removes its checkpoint directory in a
   * finally): its block's statements are the training code's, in place of the try, and the
   * Trainer's code goes inside the same try (trainer.ts), so the catch and the finally still
   * see what training throws.
   */
  tryAround: TryStatement | null;
}

export interface EpochLoop {
  loop: ForStatement;
  counter: VariableDeclaration;
  /** First value of the counter. */
  start: Expression;
  /** The bound it is compared with, and whether the comparison is `<=`. */
  bound: Expression;
  inclusive: boolean;
  /** `break`s that end the body: training stops after that epoch. */
  stops: Statement[];
  /** `let epoch = 1;` before `for (epoch = 1; ...)`: the counter's own statement, which goes with the loop. */
  declaredOutside: Statement | null;
}

/** A helper function holding a loop, inlined at its one call. */
export interface HelperSite {
  fn: LocalFunction;
  call: CallExpression;
  /** Statements of the helper before and after the statement holding the loop. */
  pre: Statement[];
  post: Statement[];
  /** The helper's final `return value;`, if any. */
  returnStatement: ReturnStatement | null;
}

/** Where a loop sits. */
export interface LoopSite {
  loop: ForOfStatement;
  /** The statement of the entry body or epoch body that holds the loop (directly or through its helper). */
  statement: Statement;
  /** The statement holding the loop in its own list: the loop, or a `noGrad(() => { loop })` around it. */
  holder: Statement;
  helper: HelperSite | null;
  /**
   * What the loop iterates: a DataLoader (its variable declaration in the entry body), or, for
   * the training loop, any other iterable built from nothing the entry body computes (`count(1)`,
   * a generator of the script's own): the Trainer iterates what trainDataloader() returns.
   */
  loader: VariableDeclaration | Expression | EpochIterable | RecordLoader;
}

/**
 * `dataloaders["train"]` where `const dataloaders = { train: new data.DataLoader(...), ... }`
 * (or built by `Object.fromEntries`) is data code of the training function: one loader of a
 * record of them, which loadDatasets() builds and the hook looks up.
 */
export interface RecordLoader {
  record: VariableDeclaration;
  /** The lookup as the script writes it (`dataloaders["train"]`). */
  access: Expression;
}

export function isRecordLoader(loader: LoopSite["loader"]): loader is RecordLoader {
  return "record" in loader;
}

/**
 * `const batches = arraySplit(order, n);` in the epoch body, then `for (const [i, batch] of
 * batches.entries())`: data the script builds anew each epoch (char_rnn's shuffled minibatches).
 * trainDataloader() builds it (with the epoch-body statements it reads) and the Trainer asks for
 * it every epoch (`reloadDataloadersEveryNEpochs: 1`), in the same order of draws.
 */
export interface EpochIterable {
  perEpoch: VariableDeclaration;
  /** The epoch-body statements it is built from, in order, its own declaration last. */
  statements: Statement[];
}

export function isEpochIterable(loader: LoopSite["loader"]): loader is EpochIterable {
  return "perEpoch" in loader;
}

/** The loader's own declaration when it is a variable of the script (the record's, for a lookup). */
export function loaderDeclaration(loader: LoopSite["loader"] | undefined): VariableDeclaration | undefined {
  if (!loader || isEpochIterable(loader)) return undefined;
  if (isRecordLoader(loader)) return loader.record;
  return Node.isVariableDeclaration(loader) ? loader : undefined;
}

/**
 * Whether the training loop's batches are a DataLoader's (tuples of tensors): a DataLoader
 * variable, or a parameter declared as one (`loader: data.DataLoader`).
 */
export function yieldsTensorBatches(loader: LoopSite["loader"], analysis: ScriptAnalysis): boolean {
  if (isEpochIterable(loader)) return false;
  if (isRecordLoader(loader)) return true;
  if (Node.isVariableDeclaration(loader)) return analysis.dataloaders.some((d) => d.declaration === loader);
  const e = unwrap(loader);
  // (`dataloaders["train"]` of a record of DataLoaders the script builds before a training function it hands the model to)
  const root = lookupRecord(e);
  const record = root ? analysis.references.declarationOf(root) : undefined;
  if (record && Node.isVariableDeclaration(record)) return analysis.dataloaders.some((d) => within(d.construction, record));
  const decl = Node.isIdentifier(e) ? analysis.references.declarationOf(e) : undefined;
  return decl !== undefined && Node.isParameterDeclaration(decl) && /\bDataLoader\b/.test(decl.getTypeNode()?.getText() ?? "");
}

export interface Structure {
  entry: EntryBody;
  epoch: EpochLoop | null;
  /** The statement of the entry body that trains: the epoch loop, or the training site itself. */
  trainingStatement: Statement;
  train: LoopSite;
  validation: LoopSite | null;
  test: LoopSite | null;
  /**
   * An evaluation loop stays code in a hook (see findStructure): then `model.train()` /
   * `model.eval()` stay too (the Trainer sets modes around its own steps only).
   */
  evalCodeInHooks: boolean;
  /** The DataLoaders such evaluation code iterates: data code, like the steps' loaders. */
  hookLoaders: VariableDeclaration[];
  /** The training code's `try { ... } catch/finally` (entry.tryAround): the Trainer's code goes inside the same try. */
  tryAround: TryStatement | null;
}

export function findStructure(analysis: ScriptAnalysis): Structure {
  const entry = entryBody(analysis);
  if (analysis.trainingLoops.length === 0) {
    const b = analysis.backwardCalls[0]!;
    throw new CannotMap(b.call, noDataLoaderReason(b.call));
  }
  if (analysis.trainingLoops.length > 1) {
    throw new CannotMap(analysis.trainingLoops[1]!.batchLoop, "a second training loop: a LightningModule has one trainingStep; migrate one training loop per script");
  }
  const training = analysis.trainingLoops[0]!;
  const inEntry = (s: Node) => entry.statements.includes(s as Statement);

  // Every backward must be in the training loop.
  for (const b of analysis.backwardCalls) {
    if (!training.backward.includes(b)) {
      throw new CannotMap(b.call, "backward() outside the training loop: a LightningModule trains in trainingStep only");
    }
  }

  // ---- epoch loop ----
  let epoch: EpochLoop | null = null;
  const tryAround = entry.tryAround;
  if (training.epochLoop) {
    if (!inEntry(training.epochLoop)) throw new CannotMap(training.epochLoop, outerLoopReason(training.epochLoop, analysis));
    epoch = epochLoop(training.epochLoop, analysis);
  }
  const outer: Statement[] = epoch ? blockStatements(epoch.loop.getStatement()) : entry.statements;
  const train = loopSite(training.batchLoop, outer, analysis, entry, "training");
  const trainingStatement = epoch ? epoch.loop : train.statement;
  if (!epoch && !inEntry(train.statement)) throw new CannotMap(training.batchLoop, "the batch loop is not in the training function's body");

  // ---- evaluation loops: inside the epoch loop → validation; after it → test ----
  let validation: LoopSite | null = null;
  let test: LoopSite | null = null;
  let evalCodeInHooks = false;
  const hookLoaders: VariableDeclaration[] = [];
  for (const e of analysis.evalLoops) {
    // Only loops of the training code (an evaluation inside the training step stays there).
    if (e.loop.getStart() >= train.loop.getStart() && e.loop.getEnd() <= train.loop.getEnd()) continue;
    const inEpochBody = epoch !== null && siteStatementIn(e.loop, outer, analysis) !== null;
    const site = inEpochBody ? null : siteStatementIn(e.loop, entry.statements, analysis);
    if (!inEpochBody && site === null) continue;
    // What is not step-shaped — a `break` after one batch, a peek at the data before training, a
    // second evaluation, a loop over something else than a DataLoader variable — stays code,
    // run as it is from the hook where the same code runs (onTrainEpochEnd, onFitStart, onFitEnd).
    let loopSiteFound: LoopSite | null = null;
    if (isStepShaped(e.loop) && !(site !== null && site.getStart() < trainingStatement.getStart()) && !(inEpochBody ? validation : test)) {
      try {
        loopSiteFound = loopSite(e.loop, inEpochBody ? outer : entry.statements, analysis, entry, inEpochBody ? "validation" : "test");
      } catch (error) {
        if (!(error instanceof CannotMap)) throw error;
      }
    }
    if (loopSiteFound === null) {
      evalCodeInHooks = true;
      const loader = iteratedVariable(e.loop, analysis, entry);
      if (loader) hookLoaders.push(loader);
    }
    else if (inEpochBody) validation = loopSiteFound;
    else test = loopSiteFound;
  }
  // Evaluation written without a loop of its own after the epoch's training (nn_tutorial:
  // `model.eval();` then `Array.from(validDl, ...)` under noGrad) runs in onTrainEpochEnd, where
  // the Trainer leaves train mode on: the script's mode switches stay.
  if (epoch && validation === null && outer.slice(outer.indexOf(train.statement) + 1).some(isEvalCall)) evalCodeInHooks = true;
  // A function the module keeps calling (`validate(model, ...)` from an epoch hook) that switches
  // the model to eval mode: the script's own `model.train()` must stay to switch it back.
  const stepHelpers = new Set<Node>([validation?.helper?.fn.node, test?.helper?.fn.node].filter((n): n is NonNullable<typeof n> => n != null));
  const entryNode = entry.fn?.node;
  const evalCalls = train.loop
    .getSourceFile()
    .getDescendantsOfKind(SyntaxKind.CallExpression)
    .filter((c) => c.getArguments().length === 0 && Node.isPropertyAccessExpression(c.getExpression()) && (c.getExpression() as PropertyAccessExpression).getName() === "eval");
  // (only a function the training code calls: `evaluate(model)` run by the script after training
  // switches a model the module no longer trains)
  const calledByTraining = (fn: Node) => {
    const local = analysis.functions.find((f) => f.node === fn);
    return local !== undefined && local.calls.some((c) => (entryNode ? within(c, entryNode) : entry.statements.some((t) => within(c, t))));
  };
  const evalElsewhere = evalCalls.some((call) => {
    if (call.getFirstAncestor((a) => Node.isClassDeclaration(a) || Node.isClassExpression(a))) return false;
    const fn = call.getFirstAncestor((a) => isFunctionLike(a) && !isNoGradCallback(a));
    return (
      fn !== undefined &&
      fn !== entryNode &&
      !stepHelpers.has(fn) &&
      calledByTraining(fn) &&
      !(validation && within(call, validation.loop)) &&
      !(test && within(call, test.loop))
    );
  });
  return { entry, epoch, trainingStatement, train, validation, test, evalCodeInHooks: evalCodeInHooks || evalElsewhere, hookLoaders, tryAround };
}

/**
 * The variable of the entry body a loop iterates, directly or as the argument of the one call
 * of the helper holding it (`test(model, testLoader)` → main's `testLoader`); null otherwise.
 */
function iteratedVariable(loop: ForOfStatement, analysis: ScriptAnalysis, entry: EntryBody): VariableDeclaration | null {
  const iterated = unwrap(loop.getExpression());
  if (!Node.isIdentifier(iterated)) return null;
  let decl = analysis.references.declarationOf(iterated);
  if (decl && Node.isParameterDeclaration(decl)) {
    const fn = analysis.functions.find((f) => f.node === decl!.getParent());
    const index = fn ? fn.node.getParameters().indexOf(decl) : -1;
    const arg = fn && fn.calls.length === 1 ? fn.calls[0]!.getArguments()[index] : undefined;
    decl = arg && Node.isIdentifier(unwrap(arg)) ? analysis.references.declarationOf(unwrap(arg) as Identifier) : undefined;
  }
  if (!decl || !Node.isVariableDeclaration(decl)) return null;
  const statement = decl.getVariableStatement();
  return statement && entry.statements.includes(statement) ? decl : null;
}

/** An evaluation loop the Trainer can run as a step: no `break`, `continue` or `return` leaves it. */
function isStepShaped(loop: ForOfStatement): boolean {
  return (
    jumpsOutOf(loop, SyntaxKind.BreakStatement).length === 0 &&
    jumpsOutOf(loop, SyntaxKind.ContinueStatement).length === 0 &&
    returnsIn(loop.getStatement()).length === 0
  );
}

/** The training function's body, or the top-level training statements. */
function entryBody(analysis: ScriptAnalysis): EntryBody {
  const entry = analysis.entry!;
  // Declarations among top-level training statements (a class declared below the data code) stay
  // declarations at the top level: they are not code of the module.
  if (entry.kind === "script") return flattenTry(analysis, { fn: null, statements: entry.statements.filter((s) => !isDeclarationStatement(s)), params: [], calls: [], tryAround: null });
  const node = entry.fn.node;
  const body = node.getBody();
  if (!body || !Node.isBlock(body)) {
    throw new MigrationError(`unsupported: ${entry.fn.name} needs a block body { ... }`, positionAt(analysis.text, node.getStart()));
  }
  return flattenTry(analysis, { fn: entry.fn, statements: body.getStatements(), params: node.getParameters(), calls: entry.calls, tryAround: null });
}

/** The entry with the `try` around its training loop replaced by the try block's statements (EntryBody.tryAround). */
function flattenTry(analysis: ScriptAnalysis, entry: EntryBody): EntryBody {
  const training = analysis.trainingLoops[0];
  const loop = training?.epochLoop ?? training?.batchLoop;
  const at = loop ? entry.statements.findIndex((s) => Node.isTryStatement(s) && within(loop, s.getTryBlock())) : -1;
  if (at === -1) return entry;
  const t = entry.statements[at] as TryStatement;
  const after = entry.statements.slice(at + 1);
  const finalReturn = after.length === 1 && Node.isReturnStatement(after[0]!);
  // Code after the try runs in onFitEnd, inside the fit: before the finally, under the catch. It
  // must not read what they do (a temporary directory the finally removes).
  if (after.length > 0 && !finalReturn) {
    const reads = (n: Node | undefined) =>
      new Set(
        (n?.getDescendantsOfKind(SyntaxKind.Identifier) ?? [])
          .map((id) => analysis.references.declarationOf(id))
          .filter((d) => d !== undefined && !Node.isFunctionDeclaration(d) && !Node.isClassDeclaration(d) && !Node.isImportSpecifier(d) && !Node.isNamespaceImport(d)),
      );
    const handlers = new Set([...reads(t.getCatchClause()), ...reads(t.getFinallyBlock())]);
    for (const s of after) {
      const shared = [...reads(s)].find((d) => handlers.has(d));
      if (shared) {
        throw new CannotMap(s, `this code after the try around the training loop reads what its catch or finally does (\`${shared.getText().split("\n")[0]}\`) and would run before them once the training is the Trainer's; move it into the try`);
      }
    }
  }
  return { ...entry, statements: [...entry.statements.slice(0, at), ...t.getTryBlock().getStatements(), ...after], tryAround: t };
}

export function blockStatements(s: Statement): Statement[] {
  return Node.isBlock(s) ? s.getStatements() : [s];
}

/** `for (let epoch = A; epoch < B; epoch++)` (or `<=`, `++epoch`, `epoch += 1`). */
function epochLoop(loop: Statement, analysis: ScriptAnalysis): EpochLoop {
  const fail = (why: string): never => {
    throw new CannotMap(loop, `the epoch loop ${why}; the Trainer counts epochs itself (maxEpochs): write it as for (let epoch = 0; epoch < n; epoch++)`);
  };
  if (!Node.isForStatement(loop)) return fail("is not a counted for loop");
  const init = loop.getInitializer();
  const outside = init && !Node.isVariableDeclarationList(init) ? counterDeclaredOutside(loop, analysis) : null;
  if (!outside && (!init || !Node.isVariableDeclarationList(init) || init.getDeclarations().length !== 1)) return fail("does not declare one counter");
  const counter = outside ? outside.counter : (init as VariableDeclarationList).getDeclarations()[0]!;
  const name = counter.getNameNode();
  const start = outside ? outside.start : counter.getInitializer();
  if (!Node.isIdentifier(name) || !start) return fail("does not declare one counter");
  const cond = loop.getCondition();
  const isCounter = (e: Node) => Node.isIdentifier(unwrap(e)) && unwrap(e).getText() === name.getText();
  let bound: Expression | null = null;
  let inclusive = false;
  if (cond && Node.isBinaryExpression(cond)) {
    const op = cond.getOperatorToken().getKind();
    if (isCounter(cond.getLeft()) && (op === SyntaxKind.LessThanToken || op === SyntaxKind.LessThanEqualsToken)) {
      bound = cond.getRight();
      inclusive = op === SyntaxKind.LessThanEqualsToken;
    } else if (isCounter(cond.getRight()) && (op === SyntaxKind.GreaterThanToken || op === SyntaxKind.GreaterThanEqualsToken)) {
      bound = cond.getLeft();
      inclusive = op === SyntaxKind.GreaterThanEqualsToken;
    }
  }
  if (!bound) return fail("has no `counter < bound` condition");
  const inc = loop.getIncrementor();
  const incText = inc ? inc.getText().replace(/\s+/g, "") : "";
  const n = name.getText();
  if (![`${n}++`, `++${n}`, `${n}+=1`, `${n}=${n}+1`].includes(incText)) return fail("does not count up by one");
  // The body must not change the counter.
  for (const use of analysis.references.usesOf(name)) {
    if (use.getStart() > loop.getStatement().getStart() && isWrite(use)) return fail("changes its counter in its body");
  }
  if (outside) {
    // Declared outside, it must mean nothing outside: no write but the header's, no read after the loop.
    const header = (n: Node) => within(n, init!) || within(n, loop.getIncrementor() ?? init!);
    for (const use of analysis.references.usesOf(name)) {
      if (isWrite(use) && !header(use)) return fail(`sets its counter \`${name.getText()}\` outside its header`);
      const fn = use.getFirstAncestor((a) => isFunctionLike(a));
      if (use.getStart() >= loop.getEnd() && fn === loop.getFirstAncestor((a) => isFunctionLike(a))) return fail(`leaves its counter \`${name.getText()}\` for the code after it`);
    }
  }
  // Nor leave the loop early: the Trainer decides when training ends.
  // A `break` as the last thing an epoch does (early stopping, `--dry-run`) is
  // `this.trainer.shouldStop = true` at the end of that epoch (see epoch-hooks.ts).
  const stops = jumpsOutOf(loop, SyntaxKind.BreakStatement);
  const [early] = stops.filter((b) => !endsTheBody(b, loop.getStatement()));
  if (early) throw new CannotMap(early, "the epoch loop has a `break` in the middle of an epoch: the Trainer ends an epoch only after its last batch; stop with this.trainer.shouldStop = true at the end of the epoch");
  const [skip] = jumpsOutOf(loop, SyntaxKind.ContinueStatement);
  if (skip) throw new CannotMap(skip, "`continue` skips the rest of an epoch; the Trainer always runs the whole epoch");
  const [ret] = returnsIn(loop.getStatement());
  if (ret) throw new CannotMap(ret, "`return` inside the epoch loop ends training early: stop with an EarlyStopping callback or this.trainer.shouldStop = true");
  return { loop, counter, start, bound, inclusive, stops, declaredOutside: outside?.statement ?? null };
}

/**
 * `let epoch = 1; ... for (epoch = 1; ...)`: the counter is a variable of the training code that
 * the script's functions read (Python's loop variable is a global `train()` prints). Its own
 * statement must declare nothing else. Null for any other initializer.
 */
function counterDeclaredOutside(loop: ForStatement, analysis: ScriptAnalysis): { counter: VariableDeclaration; start: Expression; statement: Statement } | null {
  const init = loop.getInitializer();
  const e = init ? unwrap(init) : undefined;
  if (!e || !Node.isBinaryExpression(e) || e.getOperatorToken().getKind() !== SyntaxKind.EqualsToken || !Node.isIdentifier(e.getLeft())) return null;
  const decl = analysis.references.declarationOf(e.getLeft() as Identifier);
  if (!decl || !Node.isVariableDeclaration(decl) || decl.getEnd() > loop.getStart()) return null;
  const statement = decl.getVariableStatement();
  if (!statement || statement.getDeclarations().length !== 1 || statement.getDeclarationKind() !== VariableDeclarationKind.Let) return null;
  return { counter: decl, start: e.getRight(), statement };
}

/**
 * Nothing of `body` runs after `s`: each statement around it, up to the body, is the last of its
 * block (or a branch of an `if`), but for statements `goes` says will not be there (the batch
 * counter's `batchIdx++`).
 */
export function endsTheBody(s: Node, body: Node, goes: (t: Statement) => boolean = () => false): boolean {
  for (let n: Node = s; n !== body; ) {
    const parent = n.getParent();
    if (!parent) return false;
    if (Node.isBlock(parent)) {
      const list = parent.getStatements();
      if (list.slice(list.indexOf(n as Statement) + 1).some((t) => !goes(t))) return false;
    } else if (!Node.isIfStatement(parent)) {
      return false;
    }
    n = parent;
  }
  return true;
}


/** The statement of `list` that holds `loop`, directly or through one helper call; null if none. */
function siteStatementIn(loop: ForOfStatement, list: Statement[], analysis: ScriptAnalysis): Statement | null {
  const direct = list.find((s) => s.getStart() <= loop.getStart() && loop.getEnd() <= s.getEnd());
  if (direct) return direct;
  const fn = owningHelper(loop, analysis);
  if (!fn) return null;
  return list.find((s) => fn.calls.some((c) => s.getStart() <= c.getStart() && c.getEnd() <= s.getEnd())) ?? null;
}

function owningHelper(node: Node, analysis: ScriptAnalysis): LocalFunction | null {
  const fnNode = node.getFirstAncestor((a) => isFunctionLike(a) && !isNoGradCallback(a));
  if (!fnNode) return null;
  return analysis.functions.find((f) => f.node === fnNode) ?? null;
}

/** `noGrad(() => { ... })`'s arrow (the Trainer runs evaluation without gradients itself). */
function isNoGradCallback(n: Node): boolean {
  if (!Node.isArrowFunction(n) && !Node.isFunctionExpression(n)) return false;
  const call = n.getParent();
  return call !== undefined && Node.isCallExpression(call) && /(^|\.)noGrad$/.test(call.getExpression().getText()) && call.getArguments()[0] === n;
}

/** The `noGrad(() => { <loop> })` statement around a loop, or the loop itself. */
function holderOf(loop: ForOfStatement): Statement {
  const block = loop.getParent();
  const arrow = block?.getParent();
  if (block && Node.isBlock(block) && arrow && isNoGradCallback(arrow)) {
    const call = arrow.getParentOrThrow();
    const stmt = call.getParent();
    if (stmt && Node.isExpressionStatement(stmt) && stmt.getExpression() === call) {
      if (block.getStatements().length !== 1) {
        throw new CannotMap(stmt, "noGrad(() => { ... }) holds more than the evaluation loop; the Trainer runs evaluation without gradients itself, so move the other statements out of it");
      }
      return stmt;
    }
  }
  return loop;
}

function loopSite(loop: ForOfStatement, outer: Statement[], analysis: ScriptAnalysis, entry: EntryBody, role: string): LoopSite {
  const holder = holderOf(loop);
  const statement = siteStatementIn(loop, outer, analysis);
  if (!statement) throw new CannotMap(loop, `the ${role} loop is not reached from the training function's body`);
  let helper: HelperSite | null = null;
  if (!(statement.getStart() <= loop.getStart() && loop.getEnd() <= statement.getEnd())) {
    helper = helperSite(owningHelper(loop, analysis)!, holder, statement, role);
  } else if (statement !== holder) {
    throw new CannotMap(loop, `the ${role} loop is nested in other code (${firstLine(statement)}); it must be a statement of its own`);
  }
  const loader = loaderOf(loop, helper, analysis, entry, role, outer === entry.statements ? null : outer);
  return { loop, statement, holder, helper, loader };
}

function helperSite(fn: LocalFunction, holder: Statement, statement: Statement, role: string): HelperSite {
  if (fn.calls.length !== 1 || fn.otherReferences.length > 0) {
    throw new CannotMap(fn.nameNode, `${fn.name}() holds the ${role} loop but is used more than once; inline it where it is called`);
  }
  const call = fn.calls[0]!;
  const body = fn.node.getBody();
  if (!body || !Node.isBlock(body)) throw new CannotMap(fn.node, `${fn.name}() needs a block body`);
  const statements = body.getStatements();
  const at = statements.indexOf(holder);
  if (at === -1) throw new CannotMap(holder, `the ${role} loop is nested in other code of ${fn.name}(); it must be a statement of its body`);
  let post = statements.slice(at + 1);
  let returnStatement: ReturnStatement | null = null;
  const last = post[post.length - 1];
  if (last && Node.isReturnStatement(last)) {
    returnStatement = last;
    post = post.slice(0, -1);
  }
  // Any other return would end the helper early.
  for (const r of body.getDescendantsOfKind(SyntaxKind.ReturnStatement)) {
    if (r !== returnStatement && r.getFirstAncestor((a) => isFunctionLike(a)) === fn.node) {
      throw new CannotMap(r, `${fn.name}() returns early; only a final return statement can be inlined`);
    }
  }
  // The call must be the whole statement, or the initializer of one declaration, or the right side of an assignment.
  const parent = call.getParent();
  const ok =
    (Node.isExpressionStatement(parent) && parent === statement) ||
    (Node.isAwaitExpression(parent) && parent.getParent() === statement) ||
    (Node.isVariableDeclaration(parent) && parent.getVariableStatement() === statement && Node.isVariableStatement(statement) && statement.getDeclarations().length === 1) ||
    (Node.isBinaryExpression(parent) && parent.getOperatorToken().getKind() === SyntaxKind.EqualsToken && parent.getRight() === call && parent.getParent() === statement);
  if (!ok) throw new CannotMap(call, `${fn.name}(...) is called inside an expression; call it as a statement of its own (const result = ${fn.name}(...))`);
  if (returnStatement === null && !Node.isExpressionStatement(parent) && !Node.isAwaitExpression(parent)) {
    throw new CannotMap(call, `${fn.name}() returns nothing but its result is used`);
  }
  for (const p of fn.node.getParameters()) {
    if (!Node.isIdentifier(p.getNameNode()) || p.isRestParameter()) {
      throw new CannotMap(p, `${fn.name}() has a destructured or rest parameter; the codemod inlines only plain parameters`);
    }
  }
  return { fn, call, pre: statements.slice(0, at), post, returnStatement };
}

/**
 * `for (const [i, [x, y]] of enumerate(loader))` / `of loader.entries()`: Python's enumerate over
 * a DataLoader. The loader is what is iterated; `i` is the batch index (trainingStep's
 * `batchIdx`), `[x, y]` the batch. Returns the iterated expression, or null for another loop.
 */
export function indexedIterable(loop: ForOfStatement): Node | null {
  const e = unwrap(loop.getExpression());
  if (!Node.isCallExpression(e) || !indexBindingOf(loop)) return null;
  const callee = e.getExpression();
  const args = e.getArguments();
  if (Node.isIdentifier(callee) && callee.getText() === "enumerate" && args.length === 1) return unwrap(args[0]!);
  if (Node.isPropertyAccessExpression(callee) && callee.getName() === "entries" && args.length === 0) return unwrap(callee.getExpression());
  return null;
}

/** The `[i, batch]` pattern of an indexed loop: the index name and the batch's binding. */
export function indexBindingOf(loop: ForOfStatement): { index: Identifier; batch: Node } | null {
  const init = loop.getInitializer();
  const name = Node.isVariableDeclarationList(init) ? init.getDeclarations()[0]?.getNameNode() : undefined;
  if (!name || !Node.isArrayBindingPattern(name)) return null;
  const elements = name.getElements();
  if (elements.length !== 2 || !Node.isBindingElement(elements[0]!) || !Node.isBindingElement(elements[1]!)) return null;
  const index = elements[0].getNameNode();
  return Node.isIdentifier(index) ? { index, batch: elements[1].getNameNode() } : null;
}

/** The DataLoader a loop iterates: a variable of the entry body, possibly passed to the helper. */
function loaderOf(
  loop: ForOfStatement,
  helper: HelperSite | null,
  analysis: ScriptAnalysis,
  entry: EntryBody,
  role: string,
  epochBody: Statement[] | null,
): LoopSite["loader"] {
  const iterable =
    role === "training"
      ? (selfContainedIterable(loop, analysis, entry) ?? epochIterable(loop, analysis, epochBody))
      : lookupRecord(unwrap(loop.getExpression()))
        ? selfContainedIterable(loop, analysis, entry)
        : null;
  if (iterable) return iterable;
  let iterated: Node = indexedIterable(loop) ?? unwrap(loop.getExpression());
  const fail = (why: string): never => {
    throw new CannotMap(loop, `the ${role} loop iterates ${why}; a LightningModule returns its DataLoader from ${role === "training" ? "trainDataloader" : role === "validation" ? "valDataloader" : "testDataloader"}()`);
  };
  const root = lookupRecord(iterated);
  if (root) {
    const record = analysis.references.declarationOf(root);
    const statement = record && Node.isVariableDeclaration(record) ? record.getVariableStatement() : undefined;
    if (
      !statement ||
      !entry.statements.includes(statement) ||
      statement.getDeclarationKind() !== VariableDeclarationKind.Const ||
      !analysis.dataloaders.some((d) => within(d.construction, record!))
    ) {
      return fail(`\`${iterated.getText()}\`, not a DataLoader of a record the training function builds`);
    }
    return { record: record as VariableDeclaration, access: iterated as Expression };
  }
  if (!Node.isIdentifier(iterated)) return fail(`\`${loop.getExpression().getText()}\`, not a DataLoader variable`);
  let decl = analysis.references.declarationOf(iterated as Identifier);
  if (decl && Node.isParameterDeclaration(decl) && helper && decl.getParent() === helper.fn.node) {
    const index = helper.fn.node.getParameters().indexOf(decl);
    const arg = helper.call.getArguments()[index];
    if (!arg || !Node.isIdentifier(unwrap(arg))) return fail(`a parameter of ${helper.fn.name}() that is not given a DataLoader variable`);
    iterated = unwrap(arg);
    decl = analysis.references.declarationOf(iterated as Identifier);
  }
  const loader = analysis.dataloaders.find((d) => d.declaration !== null && d.declaration === decl);
  // (or, for training, another iterable the training code builds once, before the epochs:
  // trainDataloader() returns it, as Lightning takes any iterable)
  const arrayVariable = role === "training" && decl !== undefined && Node.isVariableDeclaration(decl) && decl.getTypeNode() !== undefined && Node.isArrayTypeNode(decl.getTypeNode()!);
  if ((!loader && !arrayVariable) || !decl || !Node.isVariableDeclaration(decl)) return fail(`\`${iterated.getText()}\`, which is not a data.DataLoader`);
  const statement = decl.getVariableStatement();
  if (!statement || !entry.statements.includes(statement)) return fail(`\`${iterated.getText()}\`, a DataLoader not created in the training function's body`);
  if (statement.getDeclarationKind() !== VariableDeclarationKind.Const) return fail(`\`${iterated.getText()}\`, a DataLoader variable that is reassigned`);
  return decl;
}

/**
 * `for (const episode of count(1))`: a training loop over an iterable that is not a DataLoader
 * variable of the training function and reads nothing it computes (only its parameters, which
 * the module's constructor takes, top-level functions, classes and constants, and literals). It
 * becomes trainDataloader()'s return value: the Trainer iterates any iterable, as Lightning does.
 * Null for a DataLoader variable or anything else.
 */
function selfContainedIterable(loop: ForOfStatement, analysis: ScriptAnalysis, entry: EntryBody): Expression | null {
  const expression = loop.getExpression();
  const e = unwrap(expression);
  if (indexedIterable(loop)) return null;
  // `function train(model: Net, loader: data.DataLoader, ...)`: the loader handed in is handed to the module.
  if (Node.isIdentifier(e)) {
    const decl = analysis.references.declarationOf(e);
    return decl && entry.params.includes(decl as ParameterDeclaration) ? expression : null;
  }
  if (!Node.isCallExpression(e) && !Node.isNewExpression(e) && !Node.isArrayLiteralExpression(e) && !lookupRecord(e)) return null;
  const inEntry = (d: Node) => entry.statements.some((s) => s.getStart() <= d.getStart() && d.getEnd() <= s.getEnd());
  for (const id of e.getDescendantsOfKind(SyntaxKind.Identifier)) {
    const decl = analysis.references.declarationOf(id);
    // (functions and classes stay top-level declarations, whatever the entry; parameters are the constructor's)
    if (decl && inEntry(decl) && !Node.isFunctionDeclaration(decl) && !Node.isClassDeclaration(decl)) return null;
    if (decl && analysis.dataloaders.some((d) => d.declaration === decl)) return null;
  }
  return expression;
}

/**
 * `dataloaders["train"]`, `loaders.val`: one loader of a record of them (the transfer-learning
 * tutorial's `dataloaders[phase]` once its phases are known), a constant key on a name.
 */
function lookupRecord(e: Node): Identifier | null {
  if (!Node.isPropertyAccessExpression(e) && !Node.isElementAccessExpression(e)) return null;
  const root = unwrap(e.getExpression());
  if (!Node.isIdentifier(root)) return null;
  if (Node.isPropertyAccessExpression(e)) return root;
  const key = unwrap(e.getArgumentExpression()!);
  return Node.isStringLiteral(key) || Node.isNumericLiteral(key) || Node.isNoSubstitutionTemplateLiteral(key) ? root : null;
}

/**
 * The training loop iterates a `const` the epoch body declares before the loop, from other
 * statements of the epoch body that declare only (no loop, no other effect): see EpochIterable.
 * Null otherwise.
 */
function epochIterable(loop: ForOfStatement, analysis: ScriptAnalysis, epochBody: Statement[] | null): EpochIterable | null {
  if (!epochBody) return null;
  const iterated = indexedIterable(loop) ?? unwrap(loop.getExpression());
  if (!Node.isIdentifier(iterated)) return null;
  const decl = analysis.references.declarationOf(iterated);
  if (!decl || !Node.isVariableDeclaration(decl)) return null;
  const statement = decl.getVariableStatement();
  const at = statement ? epochBody.indexOf(statement) : -1;
  if (!statement || at === -1 || statement.getDeclarationKind() !== VariableDeclarationKind.Const || statement.getDeclarations().length !== 1) return null;
  if (analysis.dataloaders.some((d) => d.declaration === decl)) return null;
  const loopAt = epochBody.findIndex((s) => within(loop, s));
  if (loopAt !== -1 && at > loopAt) return null;
  // What it is built from, within the epoch body: const declarations only.
  const needed = new Set<Statement>([statement]);
  const visit = (s: Statement) => {
    for (const id of s.getDescendantsOfKind(SyntaxKind.Identifier)) {
      const d = analysis.references.declarationOf(id);
      const t = d ? epochBody.slice(0, at).find((b) => within(d, b)) : undefined;
      if (!t || needed.has(t)) continue;
      if (!Node.isVariableStatement(t) || t.getDeclarationKind() !== VariableDeclarationKind.Const) return false;
      needed.add(t);
      if (visit(t) === false) return false;
    }
    return true;
  };
  if (!visit(statement)) return null;
  return { perEpoch: decl, statements: epochBody.filter((s) => needed.has(s)) };
}

function firstLine(n: Node): string {
  return n.getText().split("\n")[0]!.slice(0, 60);
}

/** Why backward() without a DataLoader loop has no trainingStep yet, in the script's own terms. */
function noDataLoaderReason(backward: Node): string {
  const loops = backward.getAncestors().filter((a) => Node.isForStatement(a) || Node.isForOfStatement(a) || Node.isWhileStatement(a) || Node.isDoStatement(a));
  const closure = backward.getFirstAncestor((a) => Node.isArrowFunction(a) || Node.isFunctionExpression(a));
  if (closure && closure.getParent() && Node.isVariableDeclaration(closure.getParent()!)) {
    return "backward() runs in a closure the optimizer calls (LBFGS-style full-batch training): no DataLoader yields its batches; give the full batch a one-batch DataLoader by hand";
  }
  if (loops.some((l) => Node.isWhileStatement(l) || Node.isDoStatement(l))) {
    return "training is a `while` loop that draws its own batches (no DataLoader): write its batch sampling as a DataLoader (or an IterableDataset) and stop with maxSteps";
  }
  const slicing = loops.some((l) => Node.isForStatement(l) && /\+=/.test(l.getIncrementor()?.getText() ?? ""));
  if (loops.length <= 1 && !slicing) {
    return "backward() runs once per epoch on the whole data (no batch loop): give it a one-batch DataLoader by hand";
  }
  return "the batches are sliced by hand (no DataLoader loop around backward()): iterate a data.DataLoader (data.TensorDataset for tensors) so that trainingStep gets them";
}

/** `x.eval();` */
function isEvalCall(s: Statement): boolean {
  if (!Node.isExpressionStatement(s)) return false;
  const e = unwrap(s.getExpression());
  if (!Node.isCallExpression(e) || e.getArguments().length > 0) return false;
  const callee = e.getExpression();
  return Node.isPropertyAccessExpression(callee) && callee.getName() === "eval";
}

/** Why the loop around the batch loop cannot be the Trainer's epochs, in the script's own terms. */
function outerLoopReason(outer: Node, analysis: ScriptAnalysis): string {
  if (Node.isForOfStatement(outer) && Node.isArrayLiteralExpression(unwrap(outer.getExpression()))) {
    return `the batch loop runs inside a loop over phases (\`${outer.getExpression().getText()}\`): split it into trainingStep and validationStep by hand`;
  }
  const holder = outer.getFirstAncestor((a) => isFunctionLike(a));
  const fn = holder ? analysis.functions.find((f) => f.node === holder) : undefined;
  if (fn && fn.calls.length > 1) {
    // (handed-in.ts writes one Trainer per call for calls that are statements of their own, training outside a try)
    const read = fn.calls.find((c) => statementOfCall(c) === null);
    const inTry = holder?.getDescendantsOfKind(SyntaxKind.TryStatement).some((t) => within(outer, t));
    const readText = read ? (read.getFirstAncestor((a) => Node.isStatement(a)) ?? read).getText().split("\n")[0] : "";
    const why = read ? `the script reads what a run returns (\`${readText}\`)` : inTry ? "its training runs inside a try of its own" : "each run builds its own optimizer";
    return `${fn.name}() holds the epoch loop and is called ${fn.calls.length} times (several training runs), and ${why}: the codemod writes one Trainer per call only for a function handed its model and optimizer, called as a statement; migrate one run per script`;
  }
  const guard = outer.getFirstAncestor((a) => Node.isTryStatement(a));
  if (guard && (!holder || within(guard, holder))) {
    return "the epoch loop runs inside try { } catch: move the loop out of the try (the catch's code can run from the module's onException hook)";
  }
  return "the loop around the batch loop is not in the training function's body; the Trainer's epochs replace it";
}