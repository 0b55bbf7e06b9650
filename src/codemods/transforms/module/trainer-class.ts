/**
 * `--to module` for a trainer class of the script's own (minGPT's `Trainer`: config, callbacks
 * keyed by event, `run()` holding the loop, and the script's callbacks reading the trainer's
 * `iterNum`, `loss`, `iterDt`). The class stays the script's — its callbacks keep getting the
 * object they know — and its training loop becomes a LightningModule that the method fits with
 * Lightning's Trainer:
 *
 *   class Trainer {                                    class Trainer {
 *     run(): void {                                      async run(): Promise<void> {
 *       this.optimizer = model.configureOptimizers(c);     await new LightningTrainer({ maxEpochs: -1 }).fit(new TrainerModule(this));
 *       const loader = new data.DataLoader(...);         }
 *       let it = loader[Symbol.iterator]();            }
 *       while (true) {                         →       class TrainerModule extends LightningModule {
 *         let next = it.next(); ...                      constructor(private readonly owner: Trainer) { ... }
 *         const [x, y] = next.value;                     configureOptimizers() { this.owner.optimizer = ...; return this.owner.optimizer; }
 *         ...; this.loss.backward(); ...                 trainDataloader() { return new data.DataLoader(...); }
 *         if (this.iterNum >= max) break;                trainingStep([x, y], batchIdx) { ...; this.manualBackward(this.owner.loss); ...
 *       }                                                  if (this.owner.iterNum >= max) { this.trainer.shouldStop = true; } }
 *     }                                                }
 *   }                                                  ...; await trainer.run();
 *
 * Manual optimisation keeps the loop's own zeroGrad/backward/clipping/step and everything it does
 * between them (callbacks, counters) in their order; `this.x` of the class is `this.owner.x`,
 * its model the module's own field (so the Trainer sees its parameters), its optimizer the one
 * `this.optimizers()` hands back. A `while (true)` that pulls batches from an iterator of the
 * loader and re-creates it when exhausted runs epoch after epoch (`maxEpochs: -1`) until its
 * `break` stops the Trainer (`this.trainer.shouldStop`); a `for ... of loader` is one epoch.
 * Before the loop: the optimizer goes to configureOptimizers, the loader to trainDataloader,
 * `model.train()` goes (the Trainer sets the mode), the rest runs in onFitStart; after it, in
 * onFitEnd. What does not fit — a loop of another shape, a local the loop reads that is not the
 * class's, a return inside the loop — is a `CannotMap`: the script stays as it is, with a TODO.
 */
import type { ClassDeclaration, ForOfStatement, ForStatement, Identifier, MethodDeclaration, Node as TsNode, ParameterDeclaration, Statement, VariableStatement, WhileStatement } from "ts-morph";
import { isWrite } from "../shared/writes.ts";
import { isNumeric } from "./fields.ts";
import type { ReferenceIndex } from "../../analysis/references.ts";
import { isFactoryOptimizer } from "../../analysis/optimizer-factories.ts";
import { isOptimizerType } from "../../analysis/handed-in.ts";
import { Node, SyntaxKind, VariableDeclarationKind, unwrap, within } from "../../morph.ts";
import type { TransformContext } from "../context.ts";
import { spanStart } from "../shared/ranges.ts";
import { constructionsOf } from "../lite/trainer-class.ts";
import { CannotMap } from "./structure.ts";
import { LIGHTNING_MODULE_MEMBERS } from "./builder.ts";
import { declaredNames, jumpsOutOf, returnsIn } from "./statements.ts";

export interface TrainerClassModule {
  /** The module class written after the script's trainer class. */
  className: string;
  /** Names the output imports from `lightning-ts` (Lightning's Trainer under another name when the script has its own). */
  runtimeImports: string[];
}

type Hook = "configureOptimizers" | "trainDataloader" | "onFitStart" | "onFitEnd";

export function trainerClassToModule(ctx: TransformContext, cls: ClassDeclaration, moduleName: string): TrainerClassModule {
  const { analysis, edits } = ctx;
  const refs = analysis.references;
  const text = analysis.text;
  const className = cls.getName()!;
  const method = trainingMethod(ctx, cls);
  const body = method.getBody();
  if (!body || !Node.isBlock(body)) throw new CannotMap(method, `${className}.${method.getName()}() needs a block body`);
  if (cls.getExtends()) throw new CannotMap(cls, `${className} extends another class: the codemod writes its loop as a LightningModule only for a class of its own`);
  const statements = body.getStatements();
  const backward = analysis.backwardCalls[0]!.call;
  const loop = statements.find((s) => within(backward, s));
  const where = `${className}.${method.getName()}()`;
  if (!loop) throw new CannotMap(backward, `backward() is not in a statement of ${where}'s own body`);
  // (an epoch loop around a batch loop: `for (let epoch = 0; epoch < n; epoch++) { ...; for (const batch of loader) {...}; ... }`)
  const epoch = Node.isForStatement(loop) ? countedEpochLoop(loop, where) : null;
  const epochBody = epoch ? blockOf(epoch.loop.getStatement()) : [];
  const batchLoop = epoch ? epochBody.find((s) => within(backward, s)) : loop;
  if (!batchLoop || !(isEndlessWhile(batchLoop) || Node.isForOfStatement(batchLoop)) || (epoch && !Node.isForOfStatement(batchLoop))) {
    throw new CannotMap(backward, `${where} trains in a loop that is neither \`while (true)\` nor \`for (... of loader)\` (inside a counted epoch loop or not)`);
  }
  const before = statements.slice(0, statements.indexOf(loop));
  // (a final `return history;` is the method's result, read from the fitted module: below)
  const last = statements.at(-1);
  const finalReturn = last && last !== loop && Node.isReturnStatement(last) && last.getExpression() ? last : null;
  const after = statements.slice(statements.indexOf(loop) + 1, finalReturn ? -1 : undefined);
  const epochBefore = epoch ? epochBody.slice(0, epochBody.indexOf(batchLoop)) : [];
  const epochAfter = epoch ? epochBody.slice(epochBody.indexOf(batchLoop) + 1) : [];
  if (returnsIn(loop).length > 0) throw new CannotMap(returnsIn(loop)[0]!, `a return inside ${where}'s training loop: end the loop with break instead`);
  if (epoch) {
    const jump = [...jumpsOutOf(epoch.loop, SyntaxKind.BreakStatement), ...jumpsOutOf(epoch.loop, SyntaxKind.ContinueStatement), ...jumpsOutOf(batchLoop, SyntaxKind.BreakStatement)][0];
    if (jump) throw new CannotMap(jump, `\`${jump.getText()}\` in ${where}'s epoch loop: the Trainer runs whole epochs (maxEpochs)`);
  }

  // ---- the class's model and optimizer fields ----
  const modelNames = new Set(analysis.modelClasses.map((c) => c.getName()).filter((n): n is string => !!n));
  // (a class of the script's, or a torch module other than a loss: `model: nn.Linear`)
  const isModelType = (t: string) => modelNames.has(t) || (/^(?:\w+\.)*nn\.\w+$|^Module$/.test(t) && !/Loss$/.test(t));
  const modelFields = cls.getProperties().filter((p) => !p.isStatic() && isModelType(p.getTypeNode()?.getText() ?? ""));
  if (modelFields.length !== 1) throw new CannotMap(cls, `${className} must hold its model in one field typed with the model's class (found ${modelFields.length})`);
  const modelField = modelFields[0]!;
  if (LIGHTNING_MODULE_MEMBERS.includes(modelField.getName())) {
    throw new CannotMap(modelField, `${className}'s model field \`${modelField.getName()}\` has the name of a LightningModule member: rename it`);
  }
  const modelType = modelField.getTypeNode()!.getText();

  // ---- what the statements before the loop are ----
  const loaderDecl = loaderDeclaration(ctx, before, batchLoop);
  const iteratorDecl = Node.isForOfStatement(batchLoop) ? null : iteratorDeclaration(before, loaderDecl);
  const placement = new Map<Statement, Hook | "drop" | "alias">();
  let optimizerField: string | null = null;
  let optimizerLocal: string | null = null;
  for (const s of before) {
    if (loaderDecl && s === loaderDecl.getVariableStatement()) placement.set(s, "trainDataloader");
    else if (iteratorDecl && s === iteratorDecl.getVariableStatement()) placement.set(s, "drop");
    else if (isModeCall(s)) placement.set(s, "drop");
    else if (isAlias(s)) placement.set(s, "alias");
    else {
      const opt = optimizerAssignment(ctx, s);
      if (opt) {
        if (optimizerField || optimizerLocal) throw new CannotMap(s, `a second optimizer in ${className}.${method.getName()}(): the codemod writes one configureOptimizers`);
        placement.set(s, "configureOptimizers");
        if (opt.field) optimizerField = opt.field;
        else optimizerLocal = opt.local;
      } else placement.set(s, "onFitStart");
    }
  }
  // An optimizer the class was handed (`this.optimizer = optimizer` in its constructor, the DDP tutorial's Trainer).
  if (!optimizerField && !optimizerLocal) optimizerField = handedOptimizerField(cls, batchLoop);
  if (!optimizerField && !optimizerLocal) throw new CannotMap(method, `${where} builds no optimizer before its loop, and ${className} holds none that the loop steps`);
  // A loader the class was handed: the loop iterates `this.trainData`.
  const loaderField = !loaderDecl && Node.isForOfStatement(batchLoop) ? thisField(batchLoop.getExpression()) : null;
  // ...or one the method is handed (`fit(loader, epochs)`): the module's constructor takes it too.
  const loaderParam = !loaderDecl && !loaderField && Node.isForOfStatement(batchLoop) ? methodParameter(method, batchLoop.getExpression()) : null;
  if (!loaderDecl && !loaderField && !loaderParam) throw new CannotMap(loop, `${where}'s loop does not draw from a data.DataLoader it builds or holds`);
  const fetched = fetchStatements(batchLoop, iteratorDecl, loaderDecl);
  if (fetched === null) {
    throw new CannotMap(batchLoop, `${className}.${method.getName()}()'s \`while (true)\` does not start by taking its batch from an iterator of ${loaderDecl!.getName()} (\`let next = it.next(); ...; const batch = next.value;\`)`);
  }

  // Locals of the method other than aliases may only be read where they are (the module has no place for them).
  const hookOf = (n: TsNode): string => {
    if (within(n, batchLoop)) return "trainingStep";
    if (epochBefore.some((e) => within(n, e))) return "onTrainEpochStart";
    if (epochAfter.some((e) => within(n, e))) return "onTrainEpochEnd";
    const s = before.find((b) => within(n, b));
    if (s) return placement.get(s)!;
    return after.some((a) => within(n, a)) ? "onFitEnd" : "other";
  };
  // A local that another hook reads (`let runningLoss = 0` at the epoch's start, added to in the
  // step, printed at its end) is the module's state: a field.
  const fields: { name: string; type: string }[] = [];
  const state = (s: Statement, hook: string) => {
    if (hook === "alias" || hook === "drop" || !Node.isVariableStatement(s)) return;
    for (const name of declaredNames(s)) {
      if (name.getText() === optimizerLocal) continue;
      // (the loader is also what the loop iterates or draws its batches from)
      const drawsFromLoader = (u: TsNode) =>
        hook === "trainDataloader" &&
        ((iteratorDecl !== null && within(u, iteratorDecl)) ||
          (Node.isForOfStatement(batchLoop) && within(u, batchLoop.getExpression())) ||
          fetched.some((f) => within(u, f)));
      const elsewhere = refs.usesOf(name).filter((u) => hookOf(u) !== hook && !drawsFromLoader(u));
      if (elsewhere.length === 0) continue;
      const decl = name.getParent();
      const type = decl && Node.isVariableDeclaration(decl) && decl.getNameNode() === name && s.getDeclarations().length === 1 ? plainType(decl.getTypeNode(), decl.getInitializer(), refs) : null;
      const taken = LIGHTNING_MODULE_MEMBERS.includes(name.getText()) || ["owner", modelField.getName()].includes(name.getText()) || method.getParameters().some((p) => p.getName() === name.getText());
      if (type === null || taken || hook === "trainDataloader" || hook === "configureOptimizers") {
        throw new CannotMap(elsewhere[0]!, `\`${name.getText()}\` is a local of ${where} that another part of the training reads: keep it on the trainer (\`this.${name.getText()}\`)`);
      }
      fields.push({ name: name.getText(), type });
      edits.replace(s.getStart(), name.getStart(), "this.", "trainer-class");
      const typeNode = (decl as never as { getTypeNode(): TsNode | undefined }).getTypeNode();
      if (typeNode) edits.delete(name.getEnd(), typeNode.getEnd(), "trainer-class");
      for (const u of refs.usesOf(name)) edits.replace(u.getStart(), u.getEnd(), Node.isShorthandPropertyAssignment(u.getParent()) ? `${u.getText()}: this.${u.getText()}` : `this.${u.getText()}`, "trainer-class");
    }
  };
  for (const s of before) state(s, placement.get(s)!);
  for (const s of epochBefore) state(s, "onTrainEpochStart");
  for (const s of [...epochAfter, ...blockOf((batchLoop as ForOfStatement | WhileStatement).getStatement())]) {
    if (!Node.isVariableStatement(s)) continue;
    for (const name of declaredNames(s)) {
      const hook = hookOf(s);
      const elsewhere = refs.usesOf(name).find((u) => hookOf(u) !== hook);
      if (elsewhere) throw new CannotMap(elsewhere, `\`${name.getText()}\` is a local of ${where} that another part of the training reads: keep it on the trainer (\`this.${name.getText()}\`)`);
    }
  }

  // ---- the training step ----
  const batchParam = batchParameter(ctx, batchLoop, fetched);
  const stepStatements = Node.isForOfStatement(batchLoop) ? blockOf(batchLoop.getStatement()) : blockOf((batchLoop as WhileStatement).getStatement()).slice(fetched.length);

  // ---- rewrites inside the moved code ----
  const moved: Statement[] = [...before.filter((s) => placement.get(s) !== "drop"), ...epochBefore, ...stepStatements, ...epochAfter, ...after];
  if (epoch) {
    // The epoch counter is the Trainer's.
    for (const use of refs.usesOf(epoch.counter)) {
      if (!moved.some((m) => within(use, m))) continue;
      if (isWrite(use)) throw new CannotMap(use, `${where} changes its epoch counter inside the loop: the Trainer counts epochs itself`);
      edits.replace(use.getStart(), use.getEnd(), epoch.start === "0" ? "this.currentEpoch" : `(this.currentEpoch + ${epoch.start})`, "trainer-class");
    }
  }
  // The method's parameters (`run(dataset)`) are the module's too: handed to its constructor.
  const params = method.getParameters().map((p) => {
    const name = p.getNameNode();
    // (one only the loop's header reads — the epoch count — stays the method's; the loader it iterates goes)
    if (Node.isIdentifier(name) && p !== loaderParam && !refs.usesOf(name).some((use) => moved.some((m) => within(use, m)))) return null;
    const type = plainType(p.getTypeNode(), p.getInitializer(), refs);
    if (!Node.isIdentifier(name) || !type || p.isRestParameter()) {
      throw new CannotMap(p, `${className}.${method.getName()}()'s parameter \`${p.getText()}\` needs a name and a type of its own to be handed to the module`);
    }
    if (LIGHTNING_MODULE_MEMBERS.includes(name.getText()) || name.getText() === "owner" || name.getText() === modelField.getName()) {
      throw new CannotMap(p, `${className}.${method.getName()}()'s parameter \`${name.getText()}\` has the name of a LightningModule member: rename it`);
    }
    const uses = refs.usesOf(name).filter((use) => moved.some((m) => within(use, m)));
    for (const use of uses) if (!edits.covers(use.getStart(), use.getEnd())) edits.replace(use.getStart(), use.getEnd(), Node.isShorthandPropertyAssignment(use.getParent()) ? `${use.getText()}: this.${use.getText()}` : `this.${use.getText()}`, "trainer-class");
    return { name: name.getText(), type, optional: p.hasQuestionToken() || p.hasInitializer() };
  }).filter((p): p is NonNullable<typeof p> => p !== null);
  const optimizerName = optimizerLocal ?? freshLocal(ctx, batchLoop, "optimizer");
  /** Members of the class the module reads (`this.owner.saveCheckpoint(...)`): not private any more. */
  const readThroughOwner = new Set<string>([modelField.getName()]);
  // `console.log` in the module's hooks prints through it (rank 0 only under DDP), as the pipeline's modules do.
  for (const s of moved) {
    for (const call of s.getDescendantsOfKind(SyntaxKind.CallExpression)) {
      const callee = call.getExpression();
      if (callee.getText() !== "console.log" || edits.covers(callee.getStart(), callee.getEnd()) || ownerOfThis(call) !== method) continue;
      edits.replace(callee.getStart(), callee.getEnd(), "this.print", "trainer-class");
    }
  }
  for (const s of moved) {
    for (const t of s.getDescendantsOfKind(SyntaxKind.ThisKeyword)) {
      if (ownerOfThis(t) !== method || edits.covers(t.getStart(), t.getEnd())) continue;
      const access = t.getParent();
      const name = access && Node.isPropertyAccessExpression(access) && access.getExpression() === t ? access.getName() : null;
      if (name === modelField.getName()) continue;
      if (name !== null && name === optimizerField && within(t, batchLoop)) {
        edits.replace(access!.getStart(), access!.getEnd(), optimizerName, "trainer-class");
        continue;
      }
      edits.replace(t.getStart(), t.getEnd(), "this.owner", "trainer-class");
      if (name !== null) readThroughOwner.add(name);
    }
  }
  if (optimizerLocal && optimizerLocal !== optimizerName) {
    for (const s of stepStatements) {
      for (const id of s.getDescendantsOfKind(SyntaxKind.Identifier)) {
        if (id.getText() === optimizerLocal && refs.declarationOf(id) && !within(refs.declarationOf(id)!, batchLoop)) edits.replace(id.getStart(), id.getEnd(), optimizerName, "trainer-class");
      }
    }
  }
  for (const b of analysis.backwardCalls) {
    if (!within(b.call, batchLoop)) throw new CannotMap(b.call, `backward() outside ${className}.${method.getName()}()'s training loop`);
    const callee = b.call.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || b.call.getArguments().length > 0) throw new CannotMap(b.call, "backward() with arguments: call this.manualBackward(loss, ...) by hand");
    const loss = callee.getExpression();
    edits.insert(b.call.getStart(), "this.manualBackward(", "trainer-class");
    edits.replace(loss.getEnd(), b.call.getEnd(), ")", "trainer-class");
    ctx.counts.backwardRewritten++;
  }
  const lastStatement = stepStatements.at(-1);
  for (const brk of jumpsOutOf(batchLoop, SyntaxKind.BreakStatement)) {
    const endsStep = lastStatement !== undefined && endsBlock(brk, lastStatement);
    const indent = " ".repeat(brk.getStart() - text.lastIndexOf("\n", brk.getStart() - 1) - 1);
    edits.replace(brk.getStart(), brk.getEnd(), `this.trainer.shouldStop = true;${endsStep ? "" : `\n${indent}return;`}`, "trainer-class");
  }
  for (const cont of jumpsOutOf(batchLoop, SyntaxKind.ContinueStatement)) edits.replace(cont.getStart(), cont.getEnd(), "return;", "trainer-class");

  // ---- the module class ----
  // (a statement the device pass removed whole — `batch = batch.map((t) => t.to(this.device));` — is not written)
  const gone = (s: Statement) => edits.removes(s.getStart(), s.getEnd());
  const render = (s: Statement) => edits.render(spanStart(s, text), s.getEnd()).replace(/^\n+/, "");
  const aliases = before.filter((s) => placement.get(s) === "alias") as VariableStatement[];
  /** The aliases (`const [model, config] = [this.model, this.config];`) a method's code reads, first. */
  const withAliases = (code: Statement[]): string[] => {
    const needed = aliases.filter((a) => declaredNames(a).some((n) => refs.usesOf(n).some((u) => code.some((c) => within(u, c)))));
    // (a blank line the script had between two statements stays)
    const kept = [...needed, ...code].filter((s) => !gone(s));
    return kept.map((s, i) => (i > 0 && /\n[ \t]*\n/.test(text.slice(kept[i - 1]!.getEnd(), spanStart(s, text) + 1)) ? "\n" : "") + render(s));
  };
  const hook = (h: Hook) => before.filter((s) => placement.get(s) === h);
  const methods: string[] = [];
  const optimizerStatements = hook("configureOptimizers");
  methods.push(
    `override configureOptimizers() {\n${withAliases(optimizerStatements).join("\n")}\nreturn ${optimizerField ? `this.owner.${optimizerField}${nullable(cls, optimizerField) ? "!" : ""}` : optimizerLocal};\n}`,
  );
  methods.push(`override trainDataloader() {\n${withAliases(hook("trainDataloader")).join("\n")}\nreturn ${loaderDecl ? loaderDecl.getName() : loaderParam ? `this.${loaderParam.getName()}` : `this.owner.${loaderField}`};\n}`);
  if (hook("onFitStart").length > 0) methods.push(`override onFitStart() {\n${withAliases(hook("onFitStart")).join("\n")}\n}`);
  if (epochBefore.length > 0) methods.push(`override onTrainEpochStart() {\n${withAliases(epochBefore).join("\n")}\n}`);
  const stepBody = withAliases(stepStatements);
  const usesOptimizer = new RegExp(`\\b${optimizerName}\\b`).test(stepBody.join("\n"));
  methods.push(
    `override trainingStep(${batchParam}, batchIdx: number) {\n${usesOptimizer ? `const ${optimizerName} = this.optimizers();\n` : ""}${stepBody.join("\n")}\n}`,
  );
  if (epochAfter.length > 0) methods.push(`override onTrainEpochEnd() {\n${withAliases(epochAfter).join("\n")}\n}`);
  if (after.length > 0) methods.push(`override onFitEnd() {\n${withAliases(after).join("\n")}\n}`);
  // (a hook whose code awaits — `await save(...)` in the epoch's end — is async, as the pipeline's are)
  const asyncHooks = methods.map((m) => (/\bawait\b/.test(m.slice(m.indexOf("{"))) ? m.replace(/^override (\w+)\(/, "override async $1(") : m));
  methods.splice(0, methods.length, ...asyncHooks);
  const returnedExpr = finalReturn?.getExpression();
  const returnedField = returnedExpr && Node.isIdentifier(unwrap(returnedExpr)) ? unwrap(returnedExpr).getText() : null;
  const moduleText = [
    `/** ${className}.${method.getName()}()'s training loop as a LightningModule: the ${className} it was made from keeps its state (counters, callbacks) and its model. */`,
    `class ${moduleName} extends LightningModule {`,
    "override automaticOptimization = false;",
    `readonly ${modelField.getName()}: ${modelType};`,
    ...fields.map((f) => `${f.name === returnedField ? "" : "private "}${f.name}!: ${f.type};`),
    "",
    `constructor(private readonly owner: ${className}${params.map((p) => `, private readonly ${p.name}: ${p.type}${p.optional ? " | undefined" : ""}`).join("")}) {\nsuper();\nthis.${modelField.getName()} = owner.${modelField.getName()}${modelField.hasQuestionToken() ? "!" : ""};\n}`,
    "",
    methods.join("\n\n"),
    "}",
  ].join("\n");

  // ---- the method fits it; its callers await it ----
  const taken = analysis.topLevelNames;
  let trainerName = "Trainer";
  const runtimeImports = ["LightningModule"];
  if (taken.has("Trainer")) {
    trainerName = "LightningTrainer";
    for (let i = 2; taken.has(trainerName); i++) trainerName = `LightningTrainer${i}`;
    runtimeImports.push(`Trainer as ${trainerName}`);
  } else runtimeImports.push("Trainer");
  const epochs = epoch ? epoch.count : Node.isForOfStatement(batchLoop) ? "1" : "-1";
  // What the epoch count reads of the method's own names (`const epochs = this.config.epochs;`) is declared there first.
  const flagReads = epoch ? before.filter((b) => declaredNames(b).some((n) => refs.usesOf(n).some((u) => within(u, epoch.loop.getCondition()!) || within(u, epoch.loop.getInitializer()!)))) : [];
  const badFlagRead = flagReads.find((b) => placement.get(b) !== "alias");
  if (badFlagRead) throw new CannotMap(badFlagRead, `${where}'s epoch count reads what this code computes: the Trainer's maxEpochs is known before the module runs it`);
  const firstMoved = statements[0]!;
  const moduleArgs = ["this", ...params.map((p) => p.name)].join(", ");
  const fitText = `${flagReads.map((b) => `${b.getText()}\n`).join("")}`;
  const trainerText = `new ${trainerName}({ maxEpochs${epochs === "maxEpochs" ? "" : `: ${epochs}`} })`;
  let methodBody: string;
  if (finalReturn) {
    // `return losses;`: what the module kept of it (a field), read once fit returns.
    const returned = finalReturn.getExpression()!;
    const moduleVar = freshLocal(ctx, body, "module");
    const value = returnedValue(returned, fields.map((f) => f.name), moduleVar, method);
    if (value === null) throw new CannotMap(finalReturn, `${where} returns what its training computed in a way the module cannot hand back: return a field of ${className} (\`this.history\`) or a local it fills`);
    methodBody = `${fitText}const ${moduleVar} = new ${moduleName}(${moduleArgs});\nawait ${trainerText}.fit(${moduleVar});\nreturn ${value};`;
  } else methodBody = `${fitText}await ${trainerText}.fit(new ${moduleName}(${moduleArgs}));`;
  edits.replaceMoved(spanStart(firstMoved, text), statements.at(-1)!.getEnd(), methodBody, "trainer-class");
  if (!method.isAsync()) edits.insert(method.getNameNode().getStart(), "async ", "trainer-class");
  const returnType = method.getReturnTypeNode();
  if (returnType && !/^Promise</.test(returnType.getText())) edits.replace(returnType.getStart(), returnType.getEnd(), `Promise<${returnType.getText()}>`, "trainer-class");
  edits.insert(cls.getEnd(), `\n\n${moduleText}`, "trainer-class");
  for (const member of cls.getMembers()) {
    const name = (member as never as { getName?(): string }).getName?.();
    if (name === undefined || !readThroughOwner.has(name)) continue;
    if (name.startsWith("#")) throw new CannotMap(member, `${className}'s \`${name}\` is private to the class, and its loop, now a LightningModule's, reads it: make it a plain member`);
    for (const modifier of member.getDescendantsOfKind(SyntaxKind.PrivateKeyword).concat(member.getDescendantsOfKind(SyntaxKind.ProtectedKeyword))) {
      if (modifier.getParent() !== member) continue;
      edits.delete(modifier.getStart(), modifier.getNextSibling()?.getStart() ?? modifier.getEnd(), "trainer-class");
    }
  }
  awaitCallers(ctx, cls, method);
  ctx.notes.push(
    `${className}.${method.getName()}()'s loop (line ${ctx.lineOf(batchLoop.getStart())}) → ${moduleName}.trainingStep() with manual optimisation; ${className}.${method.getName()}() fits it with ${trainerName}({ maxEpochs: ${epochs} })`,
  );
  return { className: moduleName, runtimeImports };
}

/** The instance method of the class that holds every backward. */
function trainingMethod(ctx: TransformContext, cls: ClassDeclaration): MethodDeclaration {
  const methods = new Set(ctx.analysis.backwardCalls.map((b) => b.call.getFirstAncestor((a) => Node.isMethodDeclaration(a) || Node.isConstructorDeclaration(a) || Node.isFunctionDeclaration(a))));
  const [only] = methods;
  if (methods.size !== 1 || !only || !Node.isMethodDeclaration(only) || only.getParent() !== cls || only.isStatic()) {
    throw new CannotMap(ctx.analysis.backwardCalls[0]!.call, `backward() runs in more than one method of ${cls.getName()}: the codemod writes one trainingStep`);
  }
  return only;
}

/** `for (let epoch = S; epoch < B; epoch++)` (or `<=`): its counter, first value and epoch count as the Trainer's maxEpochs. */
function countedEpochLoop(loop: ForStatement, where: string): { loop: ForStatement; counter: Identifier; start: string; count: string } {
  const fail = (): never => {
    throw new CannotMap(loop, `${where}'s epoch loop is not a counted \`for (let epoch = 0; epoch < n; epoch++)\`; the Trainer counts epochs itself (maxEpochs)`);
  };
  const init = loop.getInitializer();
  if (!init || !Node.isVariableDeclarationList(init) || init.getDeclarations().length !== 1) return fail();
  const decl = init.getDeclarations()[0]!;
  const counter = decl.getNameNode();
  const start = decl.getInitializer();
  const cond = loop.getCondition();
  const inc = loop.getIncrementor()?.getText().replace(/\s+/g, "");
  if (!Node.isIdentifier(counter) || !start || !cond || !Node.isBinaryExpression(cond) || unwrap(cond.getLeft()).getText() !== counter.getText()) return fail();
  const op = cond.getOperatorToken().getText();
  if ((op !== "<" && op !== "<=") || ![`${counter.getText()}++`, `++${counter.getText()}`, `${counter.getText()}+=1`].includes(inc ?? "")) return fail();
  const bound = cond.getRight().getText();
  const s = start.getText();
  const first = Node.isNumericLiteral(start) ? Number(s) : null;
  const offset = first === null ? null : (op === "<=" ? 1 : 0) - first;
  const count = offset === null ? `${bound} - ${s}${op === "<=" ? " + 1" : ""}` : offset === 0 ? bound : `${bound} ${offset > 0 ? "+" : "-"} ${Math.abs(offset)}`;
  return { loop, counter, start: s, count };
}

/**
 * What the method returns once the module is fitted: `this.history` as it is (the class's own
 * field), a local that became the module's field as `module.losses`; null otherwise.
 */
function returnedValue(e: TsNode, fields: string[], moduleVar: string, method: MethodDeclaration): string | null {
  const x = unwrap(e);
  if (Node.isIdentifier(x)) return fields.includes(x.getText()) ? `${moduleVar}.${x.getText()}` : null;
  if (thisField(x) !== null) return x.getText();
  // (other expressions: only over the class's fields and literals)
  const reads = x.getDescendantsOfKind(SyntaxKind.Identifier).filter((id) => {
    const p = id.getParent();
    return !(p && Node.isPropertyAccessExpression(p) && p.getNameNode() === id);
  });
  return reads.length === 0 && ownerOfThisIs(x, method) ? x.getText() : null;
}

function ownerOfThisIs(x: TsNode, method: MethodDeclaration): boolean {
  return x.getDescendantsOfKind(SyntaxKind.ThisKeyword).every((t) => ownerOfThis(t) === method);
}

/** The type a local or a parameter keeps on the module: its annotation, or its initializer's when plain (number, string, boolean). */
function plainType(annotation: TsNode | undefined, init: TsNode | undefined, refs: ReferenceIndex): string | null {
  if (annotation) return annotation.getText();
  const e = init ? unwrap(init) : undefined;
  if (!e) return null;
  if (Node.isStringLiteral(e) || Node.isNoSubstitutionTemplateLiteral(e) || Node.isTemplateExpression(e)) return "string";
  if (Node.isTrueLiteral(e) || Node.isFalseLiteral(e)) return "boolean";
  return isNumeric(e, refs) ? "number" : null;
}

function isEndlessWhile(s: Statement): s is WhileStatement {
  return Node.isWhileStatement(s) && Node.isTrueLiteral(unwrap(s.getExpression()));
}

function blockOf(s: Statement): Statement[] {
  return Node.isBlock(s) ? s.getStatements() : [s];
}

/** `const trainLoader = new data.DataLoader(...)` among the statements before the loop, the loader the loop draws from. */
function loaderDeclaration(ctx: TransformContext, before: Statement[], loop: Statement) {
  for (const d of ctx.analysis.dataloaders) {
    const decl = d.declaration;
    if (!decl || !Node.isVariableDeclaration(decl)) continue;
    const statement = decl.getVariableStatement();
    if (!statement || !before.includes(statement) || statement.getDeclarationKind() !== VariableDeclarationKind.Const) continue;
    if (ctx.analysis.references.usesOf(decl.getNameNode() as never).some((u) => within(u, loop) || !within(u, statement))) return decl;
  }
  return null;
}

/** `let dataIter = trainLoader[Symbol.iterator]();` */
function iteratorDeclaration(before: Statement[], loader: ReturnType<typeof loaderDeclaration>) {
  if (!loader) return null;
  for (const s of before) {
    if (!Node.isVariableStatement(s) || s.getDeclarations().length !== 1) continue;
    const d = s.getDeclarations()[0]!;
    if (isIteratorOf(d.getInitializer(), loader.getName())) return d;
  }
  return null;
}

function isIteratorOf(e: TsNode | undefined, loader: string): boolean {
  const call = e ? unwrap(e) : undefined;
  if (!call || !Node.isCallExpression(call) || call.getArguments().length > 0) return false;
  const callee = call.getExpression();
  return Node.isElementAccessExpression(callee) && unwrap(callee.getExpression()).getText() === loader && callee.getArgumentExpression()?.getText() === "Symbol.iterator";
}

/**
 * The statements at the top of the `while (true)` body that take the batch (`let next =
 * it.next(); if (next.done) { it = loader[Symbol.iterator](); next = it.next(); } const batch =
 * next.value;`), the declaration of the batch last; [] for a `for ... of` loop, null when the
 * body does not start that way.
 */
function fetchStatements(loop: Statement, iterator: ReturnType<typeof iteratorDeclaration>, loader: ReturnType<typeof loaderDeclaration>): Statement[] | null {
  if (Node.isForOfStatement(loop)) return [];
  if (!iterator || !loader) return null;
  const statements = blockOf((loop as WhileStatement).getStatement());
  const names = new Set([iterator.getName(), loader.getName()]);
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i]!;
    if (Node.isVariableStatement(s) && s.getDeclarations().length === 1) {
      const init = s.getDeclarations()[0]!.getInitializer();
      const e = init ? unwrap(init) : undefined;
      // `const batch = next.value;`
      if (e && Node.isPropertyAccessExpression(e) && e.getName() === "value" && names.has(unwrap(e.getExpression()).getText())) return statements.slice(0, i + 1);
      // `let next = it.next();`
      if (e && Node.isCallExpression(e) && Node.isPropertyAccessExpression(e.getExpression()) && names.has(unwrap((e.getExpression() as never as { getExpression(): TsNode }).getExpression()).getText())) {
        names.add(s.getDeclarations()[0]!.getName());
        continue;
      }
    }
    // Anything else before the batch may only restart the iterator.
    const reads = s.getDescendantsOfKind(SyntaxKind.Identifier).filter((id) => !Node.isPropertyAccessExpression(id.getParent()) || (id.getParent() as never as { getExpression(): TsNode }).getExpression() === id);
    if (!reads.every((id) => names.has(id.getText()) || id.getText() === "Symbol")) return null;
  }
  return null;
}

/** trainingStep's first parameter: the batch as the loop declares it, typed. */
function batchParameter(ctx: TransformContext, loop: Statement, fetched: Statement[]): string {
  const { edits } = ctx;
  let name: TsNode | undefined;
  let type: string | null = null;
  if (Node.isForOfStatement(loop)) {
    const init = (loop as ForOfStatement).getInitializer();
    name = Node.isVariableDeclarationList(init) ? init.getDeclarations()[0]?.getNameNode() : undefined;
  } else {
    const decl = (fetched.at(-1) as VariableStatement).getDeclarations()[0]!;
    name = decl.getNameNode();
    type = decl.getTypeNode()?.getText() ?? null;
  }
  if (!name) throw new CannotMap(loop, "the loop's batch is not a variable of its own");
  const text = edits.render(name.getStart(), name.getEnd());
  if (type) return `${text}: ${type}`;
  if (Node.isArrayBindingPattern(name)) return `${text}: [${name.getElements().map(() => "tf.Tensor").join(", ")}]`;
  return `${text}: tf.Tensor[]`;
}

/**
 * `const [model, config] = [this.model, this.config];`, `const epochs = this.config.epochs * 2;`:
 * names computed from the class's fields, parameters and literals without a call, copied into
 * each method that reads them.
 */
function isAlias(s: Statement): boolean {
  if (!Node.isVariableStatement(s) || s.getDeclarationKind() !== VariableDeclarationKind.Const) return false;
  return s.getDeclarations().every((d) => {
    const init = d.getInitializer();
    if (!init) return false;
    // (no call, and nothing made anew: a copy of `const losses = []` per method would be a new array each time)
    const effects = [SyntaxKind.CallExpression, SyntaxKind.NewExpression, SyntaxKind.AwaitExpression, SyntaxKind.ArrowFunction, SyntaxKind.FunctionExpression, SyntaxKind.ObjectLiteralExpression];
    if (Node.isArrayLiteralExpression(unwrap(init)) && !unwrap(init).getDescendantsOfKind(SyntaxKind.ThisKeyword).length) return false;
    if (init.getDescendantsOfKind(SyntaxKind.ArrayLiteralExpression).some((a) => a !== unwrap(init))) return false;
    return !effects.includes(init.getKind()) && effects.every((k) => init.getDescendantsOfKind(k).length === 0) && !init.getDescendants().some((n) => Node.isBinaryExpression(n) && /=$/.test(n.getOperatorToken().getText()) && !/^[=!<>]=+$/.test(n.getOperatorToken().getText()));
  });
}

/** Whether the class's field may hold null or undefined (`optimizer: optim.Optimizer | null`). */
function nullable(cls: ClassDeclaration, field: string): boolean {
  const p = cls.getProperty(field);
  return p !== undefined && (p.hasQuestionToken() || /\b(null|undefined)\b/.test(p.getTypeNode()?.getText() ?? ""));
}

/** `name` of `this.name`, or null. */
function thisField(e: TsNode): string | null {
  const x = unwrap(e);
  return Node.isPropertyAccessExpression(x) && unwrap(x.getExpression()).getKind() === SyntaxKind.ThisKeyword ? x.getName() : null;
}

/** The method's parameter `e` names (`loader` of `fit(loader)`), or null. */
function methodParameter(method: MethodDeclaration, e: TsNode): ParameterDeclaration | null {
  const x = unwrap(e);
  if (!Node.isIdentifier(x)) return null;
  return method.getParameters().find((p) => Node.isIdentifier(p.getNameNode()) && p.getName() === x.getText()) ?? null;
}

/** The field holding an optimizer the class was given, which the loop steps (`this.optimizer.step()`). */
function handedOptimizerField(cls: ClassDeclaration, loop: Statement): string | null {
  const stepped = new Set(
    loop
      .getDescendantsOfKind(SyntaxKind.CallExpression)
      .map((c) => c.getExpression())
      .filter((callee) => Node.isPropertyAccessExpression(callee) && callee.getName() === "step")
      .map((callee) => thisField((callee as never as { getExpression(): TsNode }).getExpression()))
      .filter((f): f is string => f !== null),
  );
  const fields = cls.getProperties().filter((p) => stepped.has(p.getName()) && isOptimizerType(p.getTypeNode()?.getText() ?? ""));
  return fields.length === 1 ? fields[0]!.getName() : null;
}

/** `model.train();` */
function isModeCall(s: Statement): boolean {
  if (!Node.isExpressionStatement(s)) return false;
  const e = unwrap(s.getExpression());
  return Node.isCallExpression(e) && e.getArguments().length === 0 && Node.isPropertyAccessExpression(e.getExpression()) && (e.getExpression() as never as { getName(): string }).getName() === "train";
}

/** `this.optimizer = model.configureOptimizers(config);` / `const optimizer = new optim.AdamW(...)`. */
function optimizerAssignment(ctx: TransformContext, s: Statement): { field: string; local: null } | { field: null; local: string } | null {
  const isOptimizer = (e: TsNode | undefined) => {
    if (!e) return false;
    const x = unwrap(e);
    return ctx.analysis.optimizers.some((o) => o.construction === x) || (Node.isCallExpression(x) && Node.isPropertyAccessExpression(x.getExpression()) && /^configureOptimizers?$/.test((x.getExpression() as never as { getName(): string }).getName())) || (Node.isNewExpression(x) && isFactoryOptimizer(x));
  };
  if (Node.isExpressionStatement(s)) {
    const e = unwrap(s.getExpression());
    if (!Node.isBinaryExpression(e) || e.getOperatorToken().getText() !== "=" || !isOptimizer(e.getRight())) return null;
    const left = unwrap(e.getLeft());
    if (Node.isPropertyAccessExpression(left) && unwrap(left.getExpression()).getKind() === SyntaxKind.ThisKeyword) return { field: left.getName(), local: null };
    return null;
  }
  if (Node.isVariableStatement(s) && s.getDeclarations().length === 1) {
    const d = s.getDeclarations()[0]!;
    if (Node.isIdentifier(d.getNameNode()) && isOptimizer(d.getInitializer())) return { field: null, local: d.getName() };
  }
  return null;
}

/** The function `this` belongs to (arrow functions see their parent's). */
function ownerOfThis(t: TsNode): TsNode | undefined {
  return t.getFirstAncestor((a) => !Node.isArrowFunction(a) && (Node.isFunctionDeclaration(a) || Node.isFunctionExpression(a) || Node.isMethodDeclaration(a) || Node.isConstructorDeclaration(a) || Node.isClassDeclaration(a) || Node.isClassExpression(a)));
}

/** Whether `jump` is the last thing the step does when it runs: the last statement of `last`, or of the if that `last` is. */
function endsBlock(jump: TsNode, last: Statement): boolean {
  if (jump === last) return true;
  if (!Node.isIfStatement(last) || last.getElseStatement()) return false;
  const then = last.getThenStatement();
  return then === jump || (Node.isBlock(then) && then.getStatements().at(-1) === jump);
}

/** A name that `scope` (the loop, the method's body) does not already use. */
function freshLocal(ctx: TransformContext, loop: TsNode, wanted: string): string {
  // (names of variables, not of properties: `this.optimizer` leaves `optimizer` free)
  const isPropertyName = (id: TsNode) => {
    const p = id.getParent();
    return p !== undefined && Node.isPropertyAccessExpression(p) && p.getNameNode() === id;
  };
  const used = new Set(loop.getDescendantsOfKind(SyntaxKind.Identifier).filter((id) => !isPropertyName(id)).map((id) => id.getText()));
  let name = wanted;
  for (let i = 2; used.has(name); i++) name = `${wanted}${i}`;
  return name;
}

/** `trainer.run();` → `await trainer.run();` wherever the script calls the method on an instance it built. */
function awaitCallers(ctx: TransformContext, cls: ClassDeclaration, method: MethodDeclaration): void {
  const { analysis } = ctx;
  const madeAsync = new Set<TsNode>();
  for (const construction of constructionsOf(analysis, cls)) {
    let parent = construction.getParent();
    while (parent && (Node.isParenthesizedExpression(parent) || Node.isAsExpression(parent))) parent = parent.getParent();
    // `new Runner(model).train(loader)`
    if (parent && Node.isPropertyAccessExpression(parent) && parent.getName() === method.getName() && parent.getParent() && Node.isCallExpression(parent.getParent()!)) {
      awaitCall(ctx, parent.getParent()!, `${cls.getName()}.${method.getName()}()`, madeAsync);
      continue;
    }
    if (!parent || !Node.isVariableDeclaration(parent) || !Node.isIdentifier(parent.getNameNode())) continue;
    for (const use of analysis.references.usesOf(parent.getNameNode() as never)) {
      const access = use.getParent();
      if (!access || !Node.isPropertyAccessExpression(access) || access.getName() !== method.getName()) continue;
      const call = access.getParent();
      if (!call || !Node.isCallExpression(call)) continue;
      awaitCall(ctx, call, `${cls.getName()}.${method.getName()}()`, madeAsync);
    }
  }
}

/**
 * Awaits a call that now returns a promise. In a function that is not async (the DDP tutorial's
 * `main()`, which calls `trainer.train(totalEpochs)`), the function becomes async and its own
 * calls are awaited, up to the top level of the module.
 */
function awaitCall(ctx: TransformContext, call: TsNode, what: string, madeAsync: Set<TsNode>): void {
  const { analysis, edits } = ctx;
  let top: TsNode = call;
  while (top.getParent() && Node.isParenthesizedExpression(top.getParent()!)) top = top.getParent()!;
  if (top.getParent() && Node.isAwaitExpression(top.getParent()!)) return;
  const fn = call.getFirstAncestor((a) => Node.isFunctionDeclaration(a) || Node.isFunctionExpression(a) || Node.isArrowFunction(a) || Node.isMethodDeclaration(a));
  const fail = (): never => {
    throw new CannotMap(call, `${what} fits a Trainer now, which is asynchronous: call it from an async function`);
  };
  if (!fn) {
    if (!ctx.topLevelAwait) fail();
    edits.insert(call.getStart(), "await ", "trainer-class");
    return;
  }
  if ((fn as never as { isAsync(): boolean }).isAsync() || madeAsync.has(fn)) {
    edits.insert(call.getStart(), "await ", "trainer-class");
    return;
  }
  if (!Node.isFunctionDeclaration(fn) || !fn.getName() || fn.isGenerator()) return fail();
  const local = analysis.functions.find((f) => f.node === fn);
  const statement = call.getParent();
  if (!local || local.otherReferences.length > 0 || !statement || !Node.isExpressionStatement(statement)) return fail();
  const returnType = fn.getReturnTypeNode();
  if (returnType && returnType.getText() !== "void") return fail();
  madeAsync.add(fn);
  edits.insert(call.getStart(), "await ", "trainer-class");
  const keyword = fn.getFirstChildByKind(SyntaxKind.FunctionKeyword)!;
  edits.insert(keyword.getStart(), "async ", "trainer-class");
  if (returnType) edits.replace(returnType.getStart(), returnType.getEnd(), "Promise<void>", "trainer-class");
  ctx.notes.push(`${fn.getName()}() awaits ${what}, so it is async now and its callers await it`);
  for (const c of local.calls) {
    const s = c.getParent();
    if (!s || !Node.isExpressionStatement(s)) fail();
    awaitCall(ctx, c, `${fn.getName()}()`, madeAsync);
  }
}
