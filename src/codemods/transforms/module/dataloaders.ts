/**
 * Data: each DataLoader the script iterates comes from the matching hook, with the dataset code
 * only it needs:
 *
 *   const full = await data.FashionMNIST.load(...);        override async trainDataloader() {
 *   const [trainSet] = data.randomSplit(full, [...]);  →     const full = ...; const [trainSet] = ...;
 *   const loader = new data.DataLoader(trainSet, {...});     return new data.DataLoader(trainSet, {...});
 *                                                          }
 *
 * Dataset code that several hooks (or other code: `trainSet.length` in a report) read is built
 * once, in `setup()`, by a `loadDatasets()` method whose result the others read through
 * `this.datasets` (its type is inferred from that method, so nothing has to be spelled out).
 *
 * Results must match the plain script's, so the data stream's draws (random splits, one seed
 * per shuffled DataLoader at construction) must come in the same order. The Trainer calls
 * `setup` first, then `valDataloader` during its sanity check (whose draws it rolls back), then
 * `trainDataloader`, and `testDataloader` only after fit. So only the train hook may hold code
 * that can draw, and only after every drawing statement that `loadDatasets` runs; anything else
 * that may draw is built in `loadDatasets`, in the script's order.
 */
import type { Identifier, Statement, VariableDeclaration, VariableStatement } from "ts-morph";
import { torchPath } from "../../analysis/torch.ts";
import { Node, SyntaxKind, unwrap } from "../../morph.ts";
import type { Destination, ModuleBuilder } from "./builder.ts";
import { fieldify } from "./fields.ts";
import { CannotMap, isEpochIterable, isRecordLoader, loaderDeclaration, type LoopSite, type RecordLoader } from "./structure.ts";
import { declaredNames, isLoop, modelDecls, optimizerDecls, within } from "./statements.ts";
import { isWrite } from "../shared/writes.ts";
import { moduleText } from "./rewrite-uses.ts";
import { inlinedHelpers } from "./inline-helpers.ts";

type DataHook = "trainDataloader" | "valDataloader" | "testDataloader";

/** Dataset code built once by `loadDatasets()` (run by `setup()`). */
export interface SharedData {
  /** What loadDatasets() returns, read by other methods through `this.datasets` (may be empty). */
  names: string[];
}

/** Places the data code in the dataloader hooks; returns the shared part, or null when there is none. */
export function placeData(m: ModuleBuilder): SharedData | null {
  const { analysis, edits } = m.ctx;
  const refs = analysis.references;
  const entry = m.structure.entry.statements;
  const before = entry.slice(0, entry.indexOf(m.structure.trainingStatement));

  // ---- which statements are data: what the DataLoaders are built from (variables that read no
  // model or optimizer and are never reassigned); other code before training goes to onFitStart ----
  const banned = new Set<Node>([...modelDecls(m), ...optimizerDecls(m), ...analysis.schedulers.flatMap((s) => (s.declaration ? [s.declaration] : []))]);
  const candidates: VariableStatement[] = [];
  for (const s of before) {
    if (m.isPlaced(s) || m.config.has(s) || !Node.isVariableStatement(s) || edits.covers(s.getStart(), s.getEnd())) continue;
    const reads = s.getDescendantsOfKind(SyntaxKind.Identifier).map((id) => refs.declarationOf(id));
    if (reads.some((d) => d !== undefined && banned.has(d))) {
      declaredNames(s).forEach((n) => banned.add(refs.declarationOf(n)!));
      continue;
    }
    // Reassigned later (a loss sum) it is not data; but `let trainSet: Dataset; if (dummy) trainSet = ...;`
    // — set only by code before training — is (the `if` comes with it, below).
    const reassigned = declaredNames(s).some((n) => refs.usesOf(n).some((u) => isWrite(u) && !before.some((b) => b !== s && within(u, b) && !Node.isVariableStatement(b) && !isLoop(b))));
    if (!reassigned) candidates.push(s);
  }
  const candidateOf = (decl: Node) => candidates.find((s) => s.getStart() <= decl.getStart() && decl.getEnd() <= s.getEnd());
  const needed = new Set<VariableStatement>();
  const need = (s: VariableStatement | undefined) => {
    if (!s || needed.has(s)) return;
    needed.add(s);
    for (const id of s.getDescendantsOfKind(SyntaxKind.Identifier)) {
      const d = refs.declarationOf(id);
      if (d) need(candidateOf(d));
    }
  };
  for (const loader of [m.structure.train.loader, m.structure.validation?.loader, m.structure.test?.loader, ...m.structure.hookLoaders]) {
    const decl = loaderDeclaration(loader);
    if (decl) need(candidateOf(decl));
  }
  // Statements that change data before it is used (`if (useAccel) Object.assign(trainKwargs, ...)`)
  // are data code too, run right after what they change.
  const declaresNeeded = (d: Node | undefined) => d !== undefined && [...needed].some((t) => t.getStart() <= d.getStart() && d.getEnd() <= t.getEnd());
  for (const s of before) {
    if (m.isPlaced(s) || m.config.has(s) || Node.isVariableStatement(s) || edits.covers(s.getStart(), s.getEnd())) continue;
    const reads = s.getDescendantsOfKind(SyntaxKind.Identifier).map((id) => refs.declarationOf(id));
    if (reads.some((d) => d !== undefined && banned.has(d)) || !reads.some(declaresNeeded)) continue;
    needed.add(s as VariableStatement);
    for (const d of reads) if (d) need(candidateOf(d));
  }
  const data = [...candidates, ...before.filter((s) => needed.has(s as VariableStatement) && !Node.isVariableStatement(s))]
    .filter((s) => needed.has(s as VariableStatement))
    .sort((a, b) => a.getStart() - b.getStart()) as VariableStatement[];
  const dataSet = new Set<Statement>(data);

  // ---- the loader each section iterates ----
  const trainLoader = m.structure.train.loader;
  const loaders: [DataHook, LoopSite["loader"] | undefined][] = [
    ["trainDataloader", trainLoader],
    ["valDataloader", m.structure.validation?.loader],
    ["testDataloader", m.structure.test?.loader],
  ];
  const sections = loaders.map(([hook, loader]): [DataHook, VariableDeclaration | undefined] => [hook, loader && !isRecordLoader(loader) ? loaderDeclaration(loader) : undefined]);
  // A loader looked up in a record of them: the record is shared data, the hook looks it up.
  const lookups = loaders.filter((l): l is [DataHook, RecordLoader] => l[1] !== undefined && isRecordLoader(l[1]));
  const records = new Set<Statement>(lookups.map(([, l]) => l.record.getVariableStatement()!));
  // A training loop over another iterable (`count(1)`): trainDataloader() returns it as it is.
  const iterable = isEpochIterable(trainLoader) || isRecordLoader(trainLoader) || Node.isVariableDeclaration(trainLoader) ? null : trainLoader;
  if (iterable) {
    m.append("trainDataloader", `return ${moduleText(m, iterable, "trainDataloader")};`);
    m.note(`the training loop's iterable \`${iterable.getText()}\` (line ${m.line(iterable)}) → trainDataloader()`);
  }
  const loaderHooks = new Map<Statement, DataHook[]>();
  for (const [hook, decl] of sections) {
    if (!decl) continue;
    const s = decl.getVariableStatement()!;
    // Built before the module by code kept there (a list of batch starts computed from the
    // arguments): the hook returns the top-level constant.
    if (hook === "trainDataloader" && m.destinationOf(s) === "callSite") {
      m.append(hook, `return ${decl.getName()};`);
      m.note(`the training loop's iterable \`${decl.getName()}\` (line ${m.line(s)}) → trainDataloader(), built before the module`);
      continue;
    }
    if (!dataSet.has(s)) throw new CannotMap(decl, `the DataLoader ${decl.getName()} is built from the model or the optimizer, or reassigned; build it from datasets only`);
    if (s.getDeclarations().length !== 1) throw new CannotMap(s, `declare the DataLoader ${decl.getName()} on its own`);
    loaderHooks.set(s, [...(loaderHooks.get(s) ?? []), hook]);
  }

  // ---- who reads each data statement (a hook, another method, or other data statements) ----
  const statementOf = (decl: Node) => data.find((s) => s.getStart() <= decl.getStart() && decl.getEnd() <= s.getEnd());
  const consumers = new Map<Statement, Set<Destination | "loadDatasets">>();
  const dependencies = new Map<Statement, Set<Statement>>();
  for (const s of data) {
    const deps = new Set<Statement>();
    for (const id of s.getDescendantsOfKind(SyntaxKind.Identifier)) {
      const d = refs.declarationOf(id);
      const t = d ? statementOf(d) : undefined;
      if (t && t !== s) deps.add(t);
    }
    dependencies.set(s, deps);
  }
  for (const s of [...data].reverse()) {
    const set = new Set<Destination | "loadDatasets">(loaderHooks.get(s) ?? []);
    for (const name of declaredNames(s)) {
      // (helpers' parameters count: `trainEpoch(model, loader)` reads the loader where it is inlined)
      for (const use of m.usesOf(name)) {
        const user = statementOf(use);
        if (user) continue; // counted through the user's own consumers
        // Statements before training that are not placed yet run in onFitStart (or before the module: never data).
        const pending = before.some((b) => !m.isPlaced(b) && !dataSet.has(b) && b.getStart() <= use.getStart() && use.getEnd() <= b.getEnd());
        const method = m.methodOf(use) ?? (pending ? "onFitStart" : null) ?? (inScriptFunction(m, use) ? "helperMethods" : null);
        if (method !== null) set.add(method);
      }
    }
    for (const t of data) if (dependencies.get(t)!.has(s)) consumers.get(t)?.forEach((c) => set.add(c));
    consumers.set(s, set);
  }

  // ---- placement: a hook when only that hook reads it (and draws allow it), else shared ----
  const place = new Map<Statement, DataHook | "loadDatasets">();
  for (const s of data) {
    const c = [...consumers.get(s)!];
    const hook = c.length === 1 && ["trainDataloader", "valDataloader", "testDataloader"].includes(c[0]!) ? (c[0] as DataHook) : null;
    place.set(s, hook && !records.has(s) && (hook === "trainDataloader" || !mayDraw(m, s)) ? hook : "loadDatasets");
  }
  for (let changed = true; changed; ) {
    changed = false;
    // What shared code reads is shared too (it runs first, in setup).
    for (const s of data) {
      if (place.get(s) !== "loadDatasets") continue;
      for (const d of dependencies.get(s)!) {
        if (place.get(d) !== "loadDatasets") {
          place.set(d, "loadDatasets");
          changed = true;
        }
      }
    }
    // The train hook's draws must follow every shared draw, as in the script.
    const lastSharedDraw = Math.max(-1, ...data.filter((s) => place.get(s) === "loadDatasets" && mayDraw(m, s)).map((s) => data.indexOf(s)));
    for (const s of data) {
      if (place.get(s) === "trainDataloader" && mayDraw(m, s) && data.indexOf(s) < lastSharedDraw) {
        place.set(s, "loadDatasets");
        changed = true;
      }
    }
  }

  // ---- emit ----
  const shared = data.filter((s) => place.get(s) === "loadDatasets");
  for (const s of data) {
    const hooks = loaderHooks.get(s);
    const where = place.get(s)!;
    if (where !== "loadDatasets") {
      // The loader statement itself: `return new data.DataLoader(...)`.
      if (hooks) {
        const decl = s.getDeclarations()[0]!;
        const init = decl.getInitializerOrThrow();
        edits.replace(s.getStart(), init.getStart(), "return ", "module-dataloader");
        edits.replace(init.getEnd(), s.getEnd(), ";", "module-dataloader");
      }
      m.place(s, where);
      continue;
    }
    m.place(s, "loadDatasets");
  }
  for (const [s, hooks] of loaderHooks) {
    if (place.get(s) !== "loadDatasets") continue;
    for (const hook of hooks) m.append(hook, `return this.datasets.${(s as VariableStatement).getDeclarations()[0]!.getName()};`);
  }
  for (const [hook, loader] of lookups) {
    const name = loader.record.getName();
    m.append(hook, `return this.datasets.${name}${loader.access.getText().slice(loader.access.getText().indexOf(name) + name.length)};`);
    m.note(`DataLoader ${loader.access.getText()} (line ${m.line(loader.access)}) → ${hook}()`);
  }
  for (const [hook, decl] of sections) {
    if (decl) m.note(`DataLoader ${decl.getName()} (line ${m.line(decl)}) → ${hook}()`);
  }

  if (shared.length === 0) return null;
  // What other methods read of the shared code, returned by loadDatasets().
  const exported: string[] = [];
  for (const s of shared) {
    for (const name of declaredNames(s)) {
      const readElsewhere = m.usesOf(name).some((u) => {
        // (code before training that is not placed yet goes to onFitStart: placeCodeBeforeTraining)
        const pending = before.some((b) => !m.isPlaced(b) && b.getStart() <= u.getStart() && u.getEnd() <= b.getEnd());
        const method = m.methodOf(u) ?? (pending ? "onFitStart" : null) ?? (inScriptFunction(m, u) ? "helperMethods" : null);
        return method !== null && method !== "loadDatasets";
      });
      // A shared loader is returned by its hook.
      if (readElsewhere || loaderHooks.has(s) || records.has(s)) exported.push(name.getText());
    }
  }
  for (const s of shared) {
    for (const name of declaredNames(s)) {
      if (!exported.includes(name.getText())) continue;
      m.rewrites.set(refs.declarationOf(name)!, (_use: Identifier, method: Destination | null) => (method === "loadDatasets" ? null : `this.datasets.${name.getText()}`));
    }
  }
  if (exported.length > 0) m.append("loadDatasets", `return { ${exported.join(", ")} };`);
  const first = m.line(shared[0]!);
  const last = m.ctx.lineOf(shared[shared.length - 1]!.getEnd());
  m.note(`data code read outside a single dataloader hook (${first === last ? `line ${first}` : `lines ${first}–${last}`}) → loadDatasets(), run once by setup()`);
  return { names: exported };
}

/**
 * Data the epoch body builds anew every epoch (structure.ts EpochIterable): its statements go to
 * trainDataloader(), which returns it, and the Trainer calls that hook every epoch, before the
 * epoch's other code, as the script built it at the top of each epoch. Runs before the epoch
 * code is placed.
 */
export function placeEpochIterable(m: ModuleBuilder): void {
  const loader = m.structure.train.loader;
  if (!isEpochIterable(loader)) return;
  for (const s of loader.statements) m.place(s, "trainDataloader");
  // Read elsewhere too (`total / batches.length` at the end of the epoch): a field.
  const statement = loader.perEpoch.getVariableStatement()!;
  const loop = m.structure.train.loop.getExpression();
  const readElsewhere = m.usesOf(loader.perEpoch.getNameNode() as Identifier).some((u) => !within(u, loop) && !loader.statements.some((s) => within(u, s)));
  if (readElsewhere) fieldify(m, statement);
  const read = m.rewrites.get(loader.perEpoch)?.(loader.perEpoch.getNameNode() as Identifier, "trainDataloader") ?? loader.perEpoch.getName();
  m.append("trainDataloader", `return ${read};`);
  m.flag("reloadDataloadersEveryNEpochs", loader.perEpoch, () => "1");
  const first = loader.statements[0]!;
  m.note(
    `${loader.perEpoch.getName()} (built each epoch, line${loader.statements.length > 1 ? `s ${m.line(first)}–${m.line(loader.perEpoch)}` : ` ${m.line(first)}`}) → trainDataloader(), called every epoch (reloadDataloadersEveryNEpochs: 1)`,
  );
}

/** Whether a statement may draw from a random stream (a split, a shuffled DataLoader, a call the codemod cannot see into). */
export function mayDraw(m: ModuleBuilder, s: Node): boolean {
  const refs = m.ctx.analysis.references;
  let draws = false;
  const visit = (n: Node): void => {
    if (draws) return;
    if (Node.isCallExpression(n) || Node.isNewExpression(n)) {
      const callee = n.getExpression();
      const path = torchPath(callee, refs);
      const args = n.getArguments();
      if (path === "data.DataLoader") {
        const opts = args[1] ? unwrap(args[1]) : null;
        const shuffles =
          opts !== null &&
          (!Node.isObjectLiteralExpression(opts) ||
            opts.getProperties().some((p) => {
              if (Node.isSpreadAssignment(p)) return true;
              const name = (p as Node & { getName?: () => string }).getName?.();
              if (name === "sampler" || name === "batchSampler") return true;
              if (name !== "shuffle") return false;
              return !(Node.isPropertyAssignment(p) && Node.isFalseLiteral(unwrap(p.getInitializerOrThrow())));
            }));
        if (shuffles) draws = true;
      } else if (path !== null) {
        if (!DRAW_FREE_TORCH.has(path)) draws = true;
      } else if (!DRAW_FREE_GLOBAL.test(callee.getText())) {
        draws = true;
      }
    }
    n.forEachChild(visit);
  };
  visit(s);
  return draws;
}

const DRAW_FREE_TORCH = new Set([
  "data.FashionMNIST.load",
  "data.MNIST.load",
  "data.Subset",
  "data.TensorDataset",
  "data.ConcatDataset",
  "data.SyntheticClassification",
  "tf.tensor",
  "tf.tensor1d",
  "tf.tensor2d",
  "tf.zeros",
  "tf.ones",
  "tf.range",
]);
const DRAW_FREE_GLOBAL = /^(Array\.from|Math\.\w+|Number|String|Boolean|parseInt|parseFloat|Object\.\w+|JSON\.\w+|\w+\.(slice|map|filter|length))$/;

/**
 * Whether `use` is in a function of the script's own (`function test(epoch) { for (... of
 * testLoader) }`) other than the training function: placed after the data (helper-methods.ts),
 * such a function becomes a method once it reads data the module holds, and reads it there.
 */
function inScriptFunction(m: ModuleBuilder, use: Node): boolean {
  const fn = use.getFirstAncestor((a) => Node.isFunctionDeclaration(a));
  if (fn === undefined || fn === m.structure.entry.fn?.node) return false;
  // (a helper holding a loop is inlined where it is called: its parameters' uses are counted there)
  if (inlinedHelpers(m).some((h) => h.node === fn)) return false;
  return !fn.getFirstAncestor((a) => Node.isClassDeclaration(a) || Node.isClassExpression(a));
}
