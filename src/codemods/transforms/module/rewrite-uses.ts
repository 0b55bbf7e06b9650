/**
 * Names of the training function read inside the module's methods, written the module's way:
 *
 *   args.lr                        → this.args.lr            (constructor parameter property)
 *   model.forward(x), model.fc     → this.forward(x), this.model.fc
 *   epoch                          → this.currentEpoch       (+ the loop's start: `this.currentEpoch + 1`)
 *   totalLoss (now a field)        → this.totalLoss
 *   trainSet (shared dataset)      → this.datasets.trainSet
 *   optimizer, scheduler           → `const optimizer = this.optimizers();` at the top of the method
 *   console.log(...)               → this.print(...)         (rank 0 only, through the progress bar)
 *
 * Each is an edit on the identifier, so it applies wherever the statement holding it moves.
 */
import type { ParameterDeclaration, CallExpression, Identifier } from "ts-morph";
import { applyEdits, type TextEdit } from "../../edits.ts";
import { isFunctionLike } from "../../analysis/functions.ts";
import { Node, SyntaxKind } from "../../morph.ts";
import type { Destination, MethodName, ModuleBuilder } from "./builder.ts";
import type { SchedulerStep } from "./schedulers.ts";
import { CannotMap } from "./structure.ts";
import { isWrite } from "../shared/writes.ts";
import type { TrainingStep } from "./training-step.ts";
import { moduleOptimizers } from "./statements.ts";

/**
 * An epoch loop starting at a variable the script sets when resuming (`startEpoch`): the
 * Trainer's epoch count starts from its initial value (trainer.ts), and it becomes a field
 * (fields.ts) because the epoch counter's rewrite reads it as `this.startEpoch`.
 */
export interface ResumedEpochStart {
  declaration: Node;
  initial: string;
}

/**
 * `function train(rnn, data, { nEpoch = 10, criterion = new nn.NLLLoss() }: TrainOptions = {})`:
 * the constructor takes the same destructuring parameter and keeps each part in a field
 * (`this.nEpoch = nEpoch;`), typed from the parameter's annotation; uses read the field.
 */
function destructuredParameter(m: ModuleBuilder, p: ParameterDeclaration): void {
  const pattern = p.getNameNode();
  if (!Node.isObjectBindingPattern(pattern)) return;
  const typeText = p.getTypeNode()?.getText() ?? null;
  for (const element of pattern.getElements()) {
    const name = element.getNameNode();
    if (!Node.isIdentifier(name) || element.getDotDotDotToken()) {
      throw new CannotMap(element, `${m.structure.entry.fn?.name ?? "main"}() has a nested or rest destructured parameter; name its parts one by one so that they can become the module's fields`);
    }
    const property = element.getPropertyNameNode()?.getText() ?? name.getText();
    const field = m.freshMember(name.getText());
    const init = element.getInitializer();
    const type =
      typeText !== null
        ? `NonNullable<${typeText}[${JSON.stringify(property)}]>`
        : init && Node.isNumericLiteral(init)
          ? "number"
          : init && Node.isStringLiteral(init)
            ? "string"
            : init && (Node.isTrueLiteral(init) || Node.isFalseLiteral(init))
              ? "boolean"
              : null;
    if (type === null) m.ctx.todos.add(name, `\`${name.getText()}\` became a field; the codemod cannot tell its type: declare it`);
    m.addField({ name: field, declaration: `: ${type ?? "any"}` });
    m.prelude("constructor", `this.${field} = ${name.getText()};`);
    m.rewrites.set(element, (_use, method) => (method === "callSite" ? null : `this.${field}`));
  }
  m.note(`${pattern.getElements().map((e) => e.getName()).join(", ")} (destructured parameter, line ${m.line(p)}) → fields set by the constructor`);
}

/**
 * Installs the rewrites for the entry's parameters and the epoch counter (the others come from
 * their transforms); returns the epoch loop's start when it is a variable set when resuming.
 */
export function entryRewrites(m: ModuleBuilder): ResumedEpochStart | null {
  for (const p of m.structure.entry.params) {
    if (Node.isObjectBindingPattern(p.getNameNode())) {
      destructuredParameter(m, p);
      continue;
    }
    if (!Node.isIdentifier(p.getNameNode())) {
      throw new CannotMap(p, `${m.structure.entry.fn?.name ?? "main"}() has a destructured parameter; name it (args) so that it can become the module's constructor parameter`);
    }
    // A parameter named like a LightningModule member (`hparams`) gets another property name.
    const wanted = p.getName();
    const name = !m.memberNames.has(wanted) ? wanted : !m.memberNames.has("args") ? "args" : m.freshMember(`${wanted}Args`);
    m.memberNames.add(name);
    if (name !== wanted) {
      m.parameterProperties.set(p, name);
      m.note(`${wanted} is a LightningModule member's name: the constructor keeps it as this.${name}`);
    }
    // (a model handed in has the model's rewrites already: models.ts; a handed-in optimizer is
    // read through this.optimizers() outside configureOptimizers, which returns the property)
    if (!m.rewrites.has(p) && p !== m.ctx.analysis.handedInOptimizer) m.rewrites.set(p, (_use, method) => (method === "callSite" ? null : `this.${name}`));
  }
  const epoch = m.structure.epoch;
  let resumed: ResumedEpochStart | null = null;
  if (epoch) {
    // Computed when used: a start read from a field is known once the fields are.
    m.rewrites.set(epoch.counter, (_use, method) => (method === "callSite" ? null : epochText(m)));
    if (epoch.declaredOutside) m.place(epoch.declaredOutside, "drop");
    const start = epoch.start;
    if (!Node.isNumericLiteral(start) && m.probe.resolve(start) === null) {
      // `for (let epoch = startEpoch; ...)` with `startEpoch` set when resuming: the count of
      // epochs is taken from its initial value, and the epoch numbers the script reports still
      // start from it.
      const decl = Node.isIdentifier(start) ? m.ctx.analysis.references.declarationOf(start) : undefined;
      const init = decl && Node.isVariableDeclaration(decl) ? decl.getInitializer() : undefined;
      if (!decl || !init || !Node.isNumericLiteral(init)) {
        throw new CannotMap(epoch.loop, `the epoch loop starts at \`${start.getText()}\`, which is only known inside the training code; the Trainer counts epochs from 0 (maxEpochs)`);
      }
      resumed = { declaration: decl, initial: init.getText() };
      // Where the script sets it (resuming), a human decides: the Trainer resumes from its own checkpoints.
      const write = m.ctx.analysis.references.usesOf((decl as Node & { getNameNode(): Identifier }).getNameNode()).find((u) => isWrite(u));
      if (write) {
        m.ctx.todos.add(
          write,
          `the plain loop resumed at epoch \`${start.getText()}\`; the Trainer always runs maxEpochs epochs: resume with trainer.fit(model, { ckptPath }) from a Lightning checkpoint instead`,
        );
      }
    }
  }
  return resumed;
}

/** `this.currentEpoch`, offset by the epoch loop's first value. */
function epochText(m: ModuleBuilder): string {
  const epoch = m.structure.epoch!;
  const start = epoch.start;
  const value = Number(start.getText());
  if (Node.isNumericLiteral(start)) return value === 0 ? "this.currentEpoch" : `(this.currentEpoch + ${value})`;
  return `(${moduleText(m, start, "onTrainEpochStart")} + this.currentEpoch)`;
}

export function rewriteUses(m: ModuleBuilder, training: TrainingStep): void {
  const { analysis, edits } = m.ctx;
  const refs = analysis.references;
  for (const [decl, rewrite] of m.rewrites) {
    const name = (decl as Node & { getNameNode?: () => Node }).getNameNode?.();
    if (!name || !Node.isIdentifier(name)) continue;
    for (const use of refs.usesOf(name)) {
      if (edits.covers(use.getStart(), use.getEnd())) continue;
      const method = m.methodOf(use);
      if (method === null) continue;
      const text = rewrite(use, method);
      if (text === null || text === use.getText()) continue;
      replaceUse(m, use, text);
    }
  }
  optimizerPreludes(m, training.schedulerSteps);
  printThroughModule(m);
}

/** Replaces one identifier (`{ epoch }` becomes `{ epoch: this.currentEpoch }`). */
export function replaceUse(m: ModuleBuilder, use: Identifier, text: string): void {
  const { edits } = m.ctx;
  if (Node.isShorthandPropertyAssignment(use.getParent())) edits.insert(use.getEnd(), `: ${text}`, "module-reference");
  else edits.replace(use.getStart(), use.getEnd(), text, "module-reference");
}

/** The text of `node` with the module's rewrites applied, without recording edits (for code written twice). */
export function moduleText(m: ModuleBuilder, node: Node, method: Destination): string {
  const refs = m.ctx.analysis.references;
  const start = node.getStart();
  const list: TextEdit[] = [];
  const ids = Node.isIdentifier(node) ? [node] : node.getDescendantsOfKind(SyntaxKind.Identifier);
  for (const id of ids) {
    const decl = refs.declarationOf(id);
    const rewrite = decl ? m.rewrites.get(decl) : undefined;
    if (!rewrite) {
      if (decl && Node.isVariableDeclaration(decl) && m.config.has(decl.getVariableStatement() as Node) && method !== "callSite" && method !== "copied" && method !== "drop") {
        m.prelude(method as MethodName, { kind: "statement", node: decl.getVariableStatement()! });
      }
      continue;
    }
    const text = rewrite(id, method);
    if (text === null) continue;
    const shorthand = Node.isShorthandPropertyAssignment(id.getParent());
    list.push({ start: id.getStart() - start, end: id.getEnd() - start, text: shorthand ? `${id.getText()}: ${text}` : text, tag: "module-text" });
  }
  return applyEdits(node.getText(), list);
}

/**
 * The optimizers and schedulers live in configureOptimizers; code elsewhere that still reads one
 * (a learning-rate report, manual optimisation's `optD.step()`) gets it from the module.
 */
function optimizerPreludes(m: ModuleBuilder, schedulerSteps: SchedulerStep[]): void {
  const edits = m.ctx.edits;
  const bind = (names: (string | null)[], call: string) =>
    names.length === 1 ? `const ${names[0]} = ${call};` : `const [${names.map((n) => n ?? "").join(", ")}] = ${call};`;
  const groups: [{ declaration: Node | null; name: string | null }[], string][] = [
    [moduleOptimizers(m), "this.optimizers()"],
    [m.ctx.analysis.schedulers, "this.lrSchedulers()!"],
  ];
  for (const [list, call] of groups) {
    for (const item of list) {
      if (!item.declaration) continue;
      const name = (item.declaration as Node & { getNameNode(): Node }).getNameNode() as Identifier;
      for (const use of m.usesOf(name)) {
        if (edits.covers(use.getStart(), use.getEnd())) continue;
        const method = m.methodOf(use);
        if (method === null || method === "configureOptimizers" || method === "copied" || method === "drop") continue;
        if (method === "callSite") throw new CannotMap(use, `${name.getText()} is read before the module exists`);
        if (method === "helperMethods") {
          // A function that became a private method (`finishEpisode()` stepping the optimizer).
          const fn = use.getFirstAncestor((a) => Node.isFunctionDeclaration(a) && m.destinationOf(a) === "helperMethods");
          if (fn) m.openHelperBody(fn, bind(list.map((o) => o.name), call));
          continue;
        }
        m.prelude(method, bind(list.map((o) => o.name), call));
        const epochStep = schedulerSteps.find((t) => t.scheduler.declaration === item.declaration && t.interval === "epoch" && !t.monitor);
        if (epochStep && method === "onTrainEpochEnd" && use.getStart() < epochStep.statement.getStart()) {
          // The plain script read it before stepping it; the Trainer steps it before this hook.
          m.ctx.todos.add(
            use,
            `onTrainEpochEnd runs after the Trainer's end-of-epoch ${name.getText()}.step(): this reads the next epoch's learning rate, ` +
              `not the one the epoch trained with (the plain script read it before stepping)`,
          );
        }
      }
    }
  }
}

/** `console.log(...)` in the module → `this.print(...)`. */
function printThroughModule(m: ModuleBuilder): void {
  const refs = m.ctx.analysis.references;
  const edits = m.ctx.edits;
  for (const [statement, destination] of m.placements()) {
    if (destination === "drop" || destination === "callSite" || destination === "copied") continue;
    for (const call of statement.getDescendantsOfKind(SyntaxKind.CallExpression) as CallExpression[]) {
      const callee = call.getExpression();
      if (!Node.isPropertyAccessExpression(callee) || !["log", "info"].includes(callee.getName())) continue;
      const target = callee.getExpression();
      if (!Node.isIdentifier(target) || target.getText() !== "console" || refs.declarationOf(target)) continue;
      // Inside a `function` (its own `this`) the module is not `this`.
      const fn = call.getFirstAncestor((a) => isFunctionLike(a) && !Node.isArrowFunction(a));
      if (fn && fn.getStart() > statement.getStart()) continue;
      if (m.methodOf(call) !== destination || edits.covers(callee.getStart(), callee.getEnd())) continue;
      edits.replace(callee.getStart(), callee.getEnd(), "this.print", "module-print");
    }
  }
}
