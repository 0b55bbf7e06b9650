/**
 * The models become fields of the module, constructed with it (as in SPEC §4:
 * `model = new Net();`): the parameters of the model are the module's, so the Trainer moves,
 * checkpoints and optimizes them. Field initializers run in declaration order, so the models
 * draw their initial weights in the plain script's order (the init stream is independent of the
 * data and op streams, so moving construction before data loading changes nothing).
 *
 *   const model = new Net().to(device);   →   model = new Net();
 *   const netG = new Generator(args.nz);  →   readonly netG: Generator;  (constructor: this.netG = new Generator(args.nz);)
 *
 * Uses become `this.model`; with one model, `model.forward(x)` is `this.forward(x)` (the module's
 * forward calls the model's) and `model.parameters()` is `this.parameters()`.
 */
import type { ClassDeclaration, Identifier, MethodDeclaration, Statement } from "ts-morph";
import type { ModelInstance } from "../../analysis/types.ts";
import { Node, SyntaxKind, unwrap } from "../../morph.ts";
import { isFunctionLike } from "../../analysis/functions.ts";
import type { ModuleBuilder } from "./builder.ts";
import { CannotMap } from "./structure.ts";
import { optimizerSite } from "../../analysis/optimizer-factories.ts";
import { within, withoutMoves } from "./statements.ts";

export function moveModels(m: ModuleBuilder): void {
  const { analysis } = m.ctx;
  const entry = m.structure.entry.statements;
  const trainingStart = m.structure.trainingStatement.getStart();
  const params = new Set<Node>(m.structure.entry.params);
  for (const model of analysis.models) {
    const statement = model.declaration.getVariableStatement();
    if (!statement || !entry.includes(statement)) {
      if (model.optimizers.length > 0) {
        throw new CannotMap(model.declaration, `${model.name} is trained but not created in the training function's body; the module must build it`);
      }
      continue;
    }
    // A model built after training (restored for evaluation) is code of the test hooks, not a field.
    if (statement.getStart() > trainingStart) continue;
    if (model.optimizers.length === 0 && model.className === null) continue;
    if (statement.getDeclarations().length !== 1) {
      throw new CannotMap(statement, `declare ${model.name} on its own (const ${model.name} = new ...) so that it can become a field`);
    }
    const init = model.declaration.getInitializer();
    if (!init) {
      assignedInConstructor(m, model, statement, params);
      continue;
    }
    // The constructor's parameters are not there yet when field initializers run.
    let inConstructor = false;
    for (const id of init.getDescendantsOfKind(SyntaxKind.Identifier)) {
      if (m.ctx.edits.covers(id.getStart(), id.getEnd())) continue;
      const decl = analysis.references.declarationOf(id as Identifier);
      if (!decl) continue;
      if (params.has(decl)) inConstructor = true;
      else {
        const stmt = entry.find((s) => within(decl, s));
        if (!stmt) continue;
        if (m.config.has(stmt)) inConstructor = true;
        else throw new CannotMap(id, `${model.name} is built from \`${id.getText()}\`, which the script computes first; build the model in the module's configureModel() hook`);
      }
    }
    const field = m.freshMember(model.name);
    m.models.push({ instance: model, field, declaration: model.declaration, inConstructor, type: modelType(withoutMoves(m, init)) });
    if (inConstructor) {
      // `const netG = new Generator(args.nz);` → `this.netG = new Generator(args.nz);` in the constructor.
      const name = model.declaration.getNameNode();
      const typeNode = model.declaration.getTypeNode();
      m.ctx.edits.replace(statement.getStart(), name.getEnd(), `this.${field}`, "module-model");
      if (typeNode) m.ctx.edits.delete(name.getEnd(), typeNode.getEnd(), "module-model");
      m.place(statement, "constructor");
    } else {
      m.place(statement, "drop");
    }
    m.note(`${model.name} (line ${m.line(statement)}) → field \`${field}\` of ${m.className}`);
  }
  if (m.models.length === 0) modelParameter(m);
  if (m.models.length === 0) throw new CannotMap(analysis.backwardCalls[0]!.call, "cannot tell which model is trained (no optimizer over a model's parameters)");

  const single = m.models.length === 1 ? m.models[0]! : null;
  for (const mf of m.models) {
    m.rewrites.set(mf.declaration, (use, method) => {
      // (a model handed in is the function's parameter where the Trainer is built: call-site.ts binds it)
      if (mf.parameter && method === "callSite") return null;
      const access = use.getParent();
      if (single === mf && access && Node.isPropertyAccessExpression(access) && access.getExpression() === use) {
        const call = access.getParent();
        const member = access.getName();
        if (call && Node.isCallExpression(call) && call.getExpression() === access) {
          // `model.forward(x)` → `this.forward(x)`; `model.parameters()` → `this.parameters()`.
          if (member === "forward" && m.hasForward) return "this";
          if (member === "parameters" && call.getArguments().length === 0) return "this";
        }
      }
      return `this.${mf.field}`;
    });
  }
}

/**
 * Model surgery before the optimizer is built — the transfer-learning tutorial's new head,
 * `modelFt.fc = new nn.Linear(numFtrs, 2)` — runs in the constructor, after the model fields, with
 * the statements it reads (`const numFtrs = modelFt.fc.inFeatures`): the optimizer that
 * configureOptimizers() builds must see the new layer's parameters, as the script's did (Lightning
 * users change a backbone in `__init__`). Left in onFitStart, the new layer would never train.
 * Runs after moveModels, before the code before training is placed.
 */
export function placeModelSurgery(m: ModuleBuilder): void {
  const { analysis } = m.ctx;
  const refs = analysis.references;
  const entry = m.structure.entry.statements;
  const firstOptimizer = entry.findIndex((s) => analysis.optimizers.some((o) => within(optimizerSite(o), s)));
  if (firstOptimizer === -1) return;
  const before = entry.slice(0, firstOptimizer);
  const models = new Set<Node>(m.models.map((f) => f.declaration));
  const rootOf = (e: Node): Node | undefined => {
    let n = unwrap(e);
    while (Node.isPropertyAccessExpression(n) || Node.isElementAccessExpression(n)) n = unwrap(n.getExpression());
    return Node.isIdentifier(n) ? refs.declarationOf(n) : undefined;
  };
  const surgery = before.filter((s) => {
    if (m.isPlaced(s) || !Node.isExpressionStatement(s)) return false;
    const e = unwrap(s.getExpression());
    if (!Node.isBinaryExpression(e) || e.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) return false;
    const target = unwrap(e.getLeft());
    return (Node.isPropertyAccessExpression(target) || Node.isElementAccessExpression(target)) && models.has(rootOf(target)!);
  });
  if (surgery.length === 0) return;
  // What they read of the code before them: computed in the constructor too.
  const moved = new Set<Statement>(surgery);
  const visit = (s: Statement) => {
    for (const id of s.getDescendantsOfKind(SyntaxKind.Identifier)) {
      const decl = refs.declarationOf(id);
      const t = decl ? before.find((b) => b !== s && within(decl, b)) : undefined;
      if (!t || moved.has(t) || m.config.has(t) || models.has(decl!) || m.isPlaced(t)) continue;
      if (!Node.isVariableStatement(t)) throw new CannotMap(s, `the model is changed from \`${id.getText()}\`, which code before it computes; compute it in the same statement`);
      moved.add(t);
      visit(t);
    }
  };
  surgery.forEach(visit);
  for (const s of before.filter((b) => moved.has(b))) m.place(s, "constructor");
  m.note(`the model's changes before the optimizer is built (line ${m.line(surgery[0]!)}) → the constructor, so the optimizer sees them`);
}

/**
 * `function train(rnn: CharRNN, data, ...) { const optimizer = new optim.SGD(rnn.parameters()); ... }`:
 * the model is handed to the training function, so it is handed to the module's constructor
 * (Lightning's `LitModel(model)` wrapper): the constructor's parameter property is the model
 * field, and `rnn.forward(x)` / `rnn.parameters()` are the module's.
 */
function modelParameter(m: ModuleBuilder): void {
  const { analysis } = m.ctx;
  const params = m.structure.entry.params;
  if (analysis.handedInOptimizer) {
    handedInModel(m);
    return;
  }
  for (const optimizer of analysis.optimizers) {
    const first = optimizer.construction.getArguments()[0];
    const e = first ? unwrap(first) : null;
    if (!e || !Node.isCallExpression(e) || e.getArguments().length > 0) continue;
    const callee = e.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== "parameters" || !Node.isIdentifier(callee.getExpression())) continue;
    const decl = analysis.references.declarationOf(callee.getExpression() as Identifier);
    const param = params.find((p) => p === decl);
    const typeNode = param?.getTypeNode();
    if (!param || !typeNode || !Node.isIdentifier(param.getNameNode())) continue;
    const type = typeNode.getText();
    const className = analysis.modelClasses.some((c) => c.getName() === type) ? type : null;
    const instance: ModelInstance = { name: param.getName(), declaration: param as never, className, optimizers: [optimizer] };
    m.models.push({ instance, field: m.parameterProperties.get(param) ?? param.getName(), declaration: param, inConstructor: true, type, parameter: true });
    m.note(`${param.getName()}, the model handed to ${m.structure.entry.fn?.name ?? "main"}() (line ${m.line(param)}) → the constructor's \`${param.getName()}\`, the module's model`);
    return;
  }
}

/**
 * The model handed in with its optimizer (`fit(epochs, model, lossFunc, opt, ...)`): the
 * parameter the training function uses as a model (`model.train()`, `model.forward(x)`, ...).
 */
function handedInModel(m: ModuleBuilder): void {
  const { analysis } = m.ctx;
  // (a loss module has a forward too: `criterion.forward(outputs, labels)`; only a model is switched, saved or optimized)
  const modelOnly = new Set(["train", "eval", "parameters", "zeroGrad", "namedParameters", "stateDict", "loadStateDict"]);
  const calledOn = (p: Node, methods: (name: string) => boolean) =>
    Node.isParameterDeclaration(p) &&
    Node.isIdentifier(p.getNameNode()) &&
    analysis.references.usesOf(p.getNameNode() as Identifier).some((u) => {
      const access = u.getParent();
      return access !== undefined && Node.isPropertyAccessExpression(access) && access.getExpression() === u && methods(access.getName()) && Node.isCallExpression(access.getParent());
    });
  const params = m.structure.entry.params.filter((p) => p !== analysis.handedInOptimizer);
  const switched = params.filter((p) => calledOn(p, (name) => modelOnly.has(name)));
  const candidates = switched.length > 0 ? switched : params.filter((p) => calledOn(p, (name) => name === "forward"));
  if (candidates.length !== 1) return;
  const param = candidates[0]!;
  const type = param.getTypeNode()?.getText() ?? "nn.Module";
  const className = analysis.modelClasses.some((c) => c.getName() === type) ? type : null;
  const instance: ModelInstance = { name: param.getName(), declaration: param as never, className, optimizers: [] };
  m.models.push({ instance, field: m.parameterProperties.get(param) ?? param.getName(), declaration: param, inConstructor: true, type, parameter: true });
  m.note(`${param.getName()} and ${analysis.handedInOptimizer!.getName()}, handed to ${m.structure.entry.fn?.name ?? "main"}() (line ${m.line(param)}) → the constructor's, the module's model and optimizer`);
}

/** Type of a model field from its construction: `new Net()` → `Net`, `nn.fromLayers(m)` → `nn.Module`. */
function modelType(init: Node): string {
  let e = unwrap(init);
  if (Node.isAwaitExpression(e)) e = unwrap(e.getExpression());
  if (Node.isNewExpression(e)) {
    const typeArgs = e.getTypeArguments();
    return `${e.getExpression().getText()}${typeArgs.length > 0 ? `<${typeArgs.map((t) => t.getText()).join(", ")}>` : ""}`;
  }
  const callee = Node.isCallExpression(e) ? e.getExpression().getText() : "";
  const ns = callee.split(".")[0];
  return `${ns && callee.endsWith("fromLayers") ? `${ns}.` : "nn."}Module`;
}

/** The module's `forward` when it has one model (it calls the model's), else null. */
export function moduleForward(m: ModuleBuilder): string | null {
  return m.hasForward ? forwardOf(m.models[0]!.instance, m) : null;
}

/** The model class's signature (parameters and return type as written), calling the model. */
function forwardOf(model: ModelInstance, m: ModuleBuilder): string {
  const cls = m.ctx.analysis.modelClasses.find((c) => c.getName() === model.className);
  const method = cls ? findForward(cls, m) : null;
  const field = m.models[0]!.field;
  if (!method) return `override forward(x: ${m.tfName}.Tensor): ${m.tfName}.Tensor {\nreturn this.${field}.forward(x);\n}`;
  const params = method.getParameters();
  const args = params.map((p) => (p.isRestParameter() ? `...${p.getName()}` : p.getName()));
  if (params.some((p) => !Node.isIdentifier(p.getNameNode()))) {
    return `override forward(...inputs: Parameters<${model.className}["forward"]>): ReturnType<${model.className}["forward"]> {\nreturn this.${field}.forward(...inputs);\n}`;
  }
  const returnType = method.getReturnTypeNode();
  const asyncKw = method.isAsync() ? "async " : "";
  const call = `this.${field}.forward(${args.join(", ")})`;
  // (nanoGPT's `forward(idx, targets): [logits, loss]` beside `forward(idx): [logits, null]`: the
  // module's forward takes the model's overloads, so that its callers keep their precise types)
  const overloads = method.getOverloads().map((o) => {
    const type = o.getReturnTypeNode();
    return `override ${asyncKw}forward(${o.getParameters().map((p) => p.getText()).join(", ")})${type ? `: ${type.getText()}` : ""};\n`;
  });
  return (
    overloads.join("") +
    `override ${asyncKw}forward(${params.map((p) => p.getText()).join(", ")})${returnType ? `: ${returnType.getText()}` : ""} {\n` +
    `return ${call};\n}`
  );
}

/** The `forward` a model class has, its own or a base class's (among the script's model classes). */
export function findForward(cls: ClassDeclaration, m: ModuleBuilder): MethodDeclaration | null {
  for (let c: ClassDeclaration | undefined = cls; c; ) {
    const f = c.getInstanceMethod("forward");
    if (f) return f;
    const base: Node | undefined = c.getExtends()?.getExpression();
    c = base ? m.ctx.analysis.modelClasses.find((k) => k.getName() === base.getText()) : undefined;
  }
  return null;
}

/**
 * `let model: ResNet; if (args.pretrained) model = ...; else model = ...;`: a model chosen by
 * code before training. That code runs in the constructor (it reads only the arguments), the
 * declaration becomes the field `readonly model: ResNet`, and each assignment sets it.
 */
function assignedInConstructor(m: ModuleBuilder, model: ModelInstance, statement: Node, params: Set<Node>): void {
  const { analysis } = m.ctx;
  const entry = m.structure.entry.statements;
  const name = model.declaration.getNameNode() as Identifier;
  const typeNode = model.declaration.getTypeNode();
  if (!typeNode) throw new CannotMap(model.declaration, `declare ${model.name}'s type (let ${model.name}: Net;) so that it can become a field`);
  const writes = analysis.references.usesOf(name).filter((u) => isAssignedTo(u));
  const chooser = writes.length > 0 ? entry.find((s) => writes.every((w) => within(w, s))) : undefined;
  if (!chooser || chooser.getStart() > m.structure.trainingStatement.getStart()) {
    throw new CannotMap(model.declaration, `${model.name} is assigned in more than one place; assign it once, before training, so that it can become a field`);
  }
  const computed = chooser.getDescendantsOfKind(SyntaxKind.Identifier).find((id) => {
    const decl = analysis.references.declarationOf(id);
    if (!decl || decl === model.declaration || params.has(decl) || within(decl, chooser)) return false;
    const stmt = entry.find((s) => within(decl, s));
    return stmt !== undefined && !m.config.has(stmt);
  });
  const awaits = chooser.getDescendantsOfKind(SyntaxKind.AwaitExpression).some((a) => a.getFirstAncestor((f) => isFunctionLike(f) && within(f, chooser)) === undefined);
  if (computed || awaits) {
    handedToConstructor(m, model, statement, chooser, typeNode.getText());
    return;
  }
  const field = m.freshMember(model.name);
  m.models.push({ instance: model, field, declaration: model.declaration, inConstructor: true, type: typeNode.getText() });
  m.place(statement as never, "drop");
  m.place(chooser, "constructor");
  m.note(`${model.name} (line ${m.line(statement)}), chosen at line ${m.line(chooser)} → field \`${field}\` of ${m.className}, set in the constructor`);
}

/**
 * The model is chosen by code the constructor cannot run — it awaits (a checkpoint loaded), or
 * reads what the script computed first: that code stays the script's, before the module is
 * built, and the model it chose is handed to the constructor (`new GPTModule(model)`), the
 * module's `readonly model: GPT`. Only at the top level, where the script's code and the Trainer's
 * share one scope.
 */
function handedToConstructor(m: ModuleBuilder, model: ModelInstance, statement: Node, chooser: Statement, type: string): void {
  if (m.structure.entry.fn) {
    throw new CannotMap(chooser, `${model.name} is chosen by code that awaits or reads what the training function computed first; choose it from the function's arguments, or build it before calling the function and hand it in`);
  }
  const field = m.freshMember(model.name);
  m.models.push({ instance: model, field, declaration: model.declaration, inConstructor: true, type, parameter: true });
  m.handedToConstructor.push({ field, type, argument: model.name });
  // What the choosing code reads that the script declares before it (`let checkpoint = null`,
  // `const modelArgs = {...}`) is the script's too: declared before the module, where the
  // module's methods read it as the top-level name it is.
  const entry = m.structure.entry.statements;
  const needed = new Set<Statement>([statement as Statement, chooser]);
  for (const queue = [chooser]; queue.length > 0; ) {
    const s = queue.pop()!;
    for (const id of s.getDescendantsOfKind(SyntaxKind.Identifier)) {
      const decl = m.ctx.analysis.references.declarationOf(id);
      const declaring = decl ? entry.find((t) => within(decl, t) && t.getStart() < chooser.getStart()) : undefined;
      if (!declaring || needed.has(declaring) || m.config.has(declaring)) continue;
      if (m.isPlaced(declaring) && m.destinationOf(declaring) !== "callSite") {
        throw new CannotMap(declaring, `${model.name} is chosen by code that runs before the module exists, and that code reads what the module keeps (\`${id.getText()}\`)`);
      }
      needed.add(declaring);
      queue.push(declaring);
    }
  }
  for (const s of needed) m.place(s, "callSite");
  m.note(`${model.name} (line ${m.line(statement)}), chosen at line ${m.line(chooser)} by code that runs before the module exists → built there and handed to ${m.className}'s constructor`);
}

function isAssignedTo(id: Node): boolean {
  const parent = id.getParent();
  return parent !== undefined && Node.isBinaryExpression(parent) && parent.getLeft() === id && parent.getOperatorToken().getKind() === SyntaxKind.EqualsToken;
}
