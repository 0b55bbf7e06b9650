/**
 * The epoch loop becomes a Trainer, built where the script called its training function:
 *
 *   main({ epochs: 2, lr: 1e-3 });   →   await new Trainer({ maxEpochs: 2 }).fit(new NetModule({ epochs: 2, lr: 1e-3 }));
 *
 * With a test loop (or seeding code that must run first) it takes a few statements:
 *
 *   manualSeed(1);
 *   const model = new ConvNetModule({ ... });
 *   const trainer = new Trainer({ maxEpochs: 2 });
 *   await trainer.fit(model);
 *   await trainer.test(model);
 *
 * The Trainer keeps Lightning's defaults otherwise (progress bar, loggers, checkpoints).
 */
import type { CallExpression, Statement, VariableStatement } from "ts-morph";
import { declaredNames } from "./statements.ts";
import { callSiteOf, isFunctionLike, statementOfCall } from "../../analysis/functions.ts";
import { Node, SyntaxKind } from "../../morph.ts";
import type { ModuleBuilder } from "./builder.ts";
import { CallSite, countExpression } from "./call-site.ts";
import type { ResumedEpochStart } from "./rewrite-uses.ts";
import { CannotMap } from "./structure.ts";
import { spanStart } from "../shared/ranges.ts";

const FLAG_ORDER = ["maxEpochs", "accumulateGradBatches", "gradientClipVal", "gradientClipAlgorithm", "reloadDataloadersEveryNEpochs"];

/**
 * The `maxEpochs` flag, from the epoch loop's bounds (written when the call site is, once the code
 * kept there is known: `let epochs = 3` before the loop stays there); a loop resuming at
 * `resumed` counts from its initial value.
 */
export function planTrainer(m: ModuleBuilder, resumed: ResumedEpochStart | null): void {
  const epoch = m.structure.epoch;
  if (!epoch) {
    m.flag("maxEpochs", m.structure.trainingStatement, () => "1");
    return;
  }
  m.flag("maxEpochs", epoch.bound, (site) => {
    const bound = site.resolve(epoch.bound);
    const start = resumed ? resumed.initial : site.resolve(epoch.start);
    return bound === null || start === null ? null : countExpression(bound, start, epoch.inclusive);
  });
}

/** Replaces each call of the training function (or the top-level training code) with the Trainer. */
export function writeTrainerCalls(m: ModuleBuilder): { topLevelCode: string | null } {
  const { entry } = m.structure;
  if (!entry.fn) {
    const lines = statementsFor(m, new CallSite(m, null));
    return { topLevelCode: m.ctx.topLevelAwait ? lines.join("\n") : `(async () => {\n${lines.join("\n")}\n})();` };
  }
  const { edits } = m.ctx;
  const several = entry.calls.length > 1;
  for (const call of entry.calls) {
    const site = new CallSite(m, call);
    const kept = resultStatement(m, call);
    if (kept) {
      // `const allLosses = train(...)`: fit, then read what train() returned from the module.
      if (!awaitAllowed(kept.statement, m.ctx.topLevelAwait)) {
        throw new CannotMap(call, `${entry.fn.name}()'s result is used where the script cannot await the Trainer (a CommonJS top level): call it from an async function`);
      }
      const declared = kept.statement.getDeclarationKind();
      const lines = statementsFor(m, site, (model) => [`${declared} ${kept.name} = ${model}.${m.result!.field};`]);
      edits.replaceMoved(kept.statement.getStart(), kept.statement.getEnd(), lines.join("\n"), "module-trainer");
      m.note(`${entry.fn.name}(...) call (line ${m.line(call)}) → trainer.fit(model), then ${kept.name} = model.${m.result!.field}`);
      continue;
    }
    const receives = m.returnedParameter ? callSiteOf(call) : null;
    const handedBack =
      receives && (receives.kind === "declare" || (receives.kind === "assign" && receives.targetIsName))
        ? { statement: receives.statement, target: receives.target, declared: receives.kind === "declare" ? receives.keyword : null }
        : null;
    if (handedBack) {
      // `modelFt = await trainModel(modelFt, ...)`: fit, and the result is the argument itself.
      if (!awaitAllowed(handedBack.statement, m.ctx.topLevelAwait)) {
        throw new CannotMap(call, `${entry.fn.name}()'s result is used where the script cannot await the Trainer (a CommonJS top level): call it from an async function`);
      }
      const argument = site.argumentOf(m.returnedParameter!);
      if (!argument) throw new CannotMap(call, `${entry.fn.name}() returns its parameter ${m.returnedParameter!.getName()}, which this call does not give`);
      const argumentText = edits.render(argument.getStart(), argument.getEnd());
      const keep = handedBack.target === argumentText ? [] : [`${handedBack.declared ? `${handedBack.declared} ` : ""}${handedBack.target} = ${argumentText};`];
      const lines = [...statementsFor(m, site), ...keep];
      edits.replaceMoved(handedBack.statement.getStart(), handedBack.statement.getEnd(), several && lines.length > 1 && keep.length === 0 ? `{\n${lines.join("\n")}\n}` : lines.join("\n"), "module-trainer");
      m.note(`${entry.fn.name}(...) call (line ${m.line(call)}) → new Trainer(...).fit(...)${keep.length ? `, then ${keep[0]!.replace(/;$/, "")}` : ""}`);
      continue;
    }
    const statement = statementOfCall(call);
    const canAwait = statement !== null && awaitAllowed(statement, m.ctx.topLevelAwait);
    const lines = statementsFor(m, site);
    if (statement && canAwait) {
      // Several calls: each in a block of its own, so that their `const model` do not collide.
      const text = several && lines.length > 1 ? `{\n${lines.join("\n")}\n}` : lines.join("\n");
      edits.replaceMoved(statement.getStart(), statement.getEnd(), text, "module-trainer");
    } else if (lines.length === 1 && lines[0]!.startsWith("await ")) {
      // `main().catch(...)`: the fit promise takes the call's place.
      edits.replaceMoved(call.getStart(), call.getEnd(), lines[0]!.slice("await ".length).replace(/;$/, ""), "module-trainer");
    } else {
      edits.replaceMoved(call.getStart(), call.getEnd(), `(async () => {\n${lines.join("\n")}\n})()`, "module-trainer");
    }
    m.note(`${entry.fn.name}(...) call (line ${m.line(call)}) → ${m.structure.test ? "trainer.fit(model), trainer.test(model)" : "new Trainer(...).fit(...)"}`);
  }
  return { topLevelCode: null };
}

/**
 * How many of the call site's statements (in source order) run before the try around training
 * (EntryBody's tryAround): those above it, and from inside it every one up to the last that the
 * module reads — the module class is declared outside that try, so the names it reads are
 * declared before the try (`const bestModelParamsPath = join(tempdir, ...)`), with what they are
 * computed from; only their evaluation moves out of the try's protection.
 */
function callSiteBeforeTry(m: ModuleBuilder): number {
  const t = m.structure.tryAround;
  if (!t) return m.callSite.length;
  const above = m.callSite.filter((s) => s.getStart() < t.getStart()).length;
  const readByModule = (s: Statement) =>
    Node.isVariableStatement(s) &&
    declaredNames(s).some((n) =>
      m.usesOf(n).some((u) => {
        const where = m.methodOf(u);
        return where !== null && where !== "callSite" && where !== "drop" && where !== "copied";
      }),
    );
  return above + m.callSite.slice(above).findLastIndex(readByModule) + 1;
}

/** `const allLosses = train(...);` when train() returns a result the module keeps (m.result): the statement and the name. */
function resultStatement(m: ModuleBuilder, call: CallExpression): { statement: VariableStatement; name: string } | null {
  if (!m.result?.field) return null;
  const parent = call.getParent();
  if (!parent || !Node.isVariableDeclaration(parent) || parent.getInitializer() !== call || !Node.isIdentifier(parent.getNameNode())) return null;
  const statement = parent.getVariableStatement();
  if (!statement || statement.getDeclarations().length !== 1) return null;
  return { statement, name: parent.getName() };
}

/**
 * The statements that replace one call of the training function. `afterFit`, when given, reads
 * the fitted module (named by its argument) once fit returns.
 */
function statementsFor(m: ModuleBuilder, site: CallSite, afterFit?: (model: string) => string[]): string[] {
  const { edits } = m.ctx;
  const refs = m.ctx.analysis.references;
  const params = new Set<Node>(m.structure.entry.params);
  // Code run before the module is built reads main's arguments from variables.
  const before = m.callSite.map((s) => {
    for (const id of s.getDescendantsOfKind(SyntaxKind.Identifier)) {
      const d = refs.declarationOf(id);
      if (d && params.has(d)) site.hoisted.add(d as never);
    }
    return edits.render(spanStart(s, m.text), s.getEnd());
  });
  const flags = [...m.trainerFlags]
    .sort((a, b) => FLAG_ORDER.indexOf(a.name) - FLAG_ORDER.indexOf(b.name))
    .map((f) => {
      const value = f.value(site);
      if (value === null) {
        throw new CannotMap(f.anchor, `the Trainer's ${f.name} (\`${f.anchor.getText()}\`) is only known inside the training code, after the module is built`);
      }
      return `${f.name}: ${value}`;
    });
  const trainerText = `new Trainer({ ${flags.join(", ")} })`;
  const hoisted = m.structure.entry.params
    // (`run(hparams)` with main's own `hparams`: that variable is already there)
    .filter((p) => site.hoisted.has(p) && site.argumentOf(p)?.getText() !== p.getName())
    .map((p) => `const ${p.getName()} = ${site.argumentOf(p) ? edits.render(site.argumentOf(p)!.getStart(), site.argumentOf(p)!.getEnd()) : "undefined"};`);
  const module = `new ${m.className}(${[site.constructorArguments(), ...m.handedToConstructor.map((h) => h.argument)].filter((a) => a !== "").join(", ")})`;
  // main's arguments were evaluated before its body ran: their variables come before the
  // seeding code that reads them.
  const lines = [...hoisted, ...before];
  if (m.structure.test || afterFit) {
    const taken = m.ctx.analysis.topLevelNames;
    const pick = (wanted: string) => {
      let name = wanted;
      for (let i = 2; taken.has(name); i++) name = `${wanted}${i}`;
      return name;
    };
    const model = pick("model");
    const trainer = pick("trainer");
    if (m.structure.test) {
      lines.push(`const ${model} = ${module};`, `const ${trainer} = ${trainerText};`, `await ${trainer}.fit(${model});`, `await ${trainer}.test(${model});`);
    } else {
      lines.push(`const ${model} = ${module};`, `await ${trainerText}.fit(${model});`);
    }
    if (afterFit) lines.push(...afterFit(model));
  } else {
    lines.push(`await ${trainerText}.fit(${module});`);
  }
  // `try { ...training... } catch/finally`: the code kept from inside the try, the Trainer's and
  // what reads the fitted module, inside the same try.
  const tryAround = m.structure.tryAround;
  if (tryAround) {
    const wrapped = lines.splice(hoisted.length + callSiteBeforeTry(m));
    lines.push(`try {\n${wrapped.join("\n")}\n}${edits.render(tryAround.getTryBlock().getEnd(), tryAround.getEnd())}`);
  }
  return lines;
}

/** `await` is allowed at the top level of an ES module (not CommonJS) and in async functions. */
function awaitAllowed(statement: Node, topLevelAwait: boolean): boolean {
  const fn = statement.getFirstAncestor((a) => isFunctionLike(a));
  if (!fn) return topLevelAwait;
  return (Node.isFunctionDeclaration(fn) || Node.isFunctionExpression(fn) || Node.isArrowFunction(fn) || Node.isMethodDeclaration(fn)) && fn.isAsync();
}

