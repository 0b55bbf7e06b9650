/**
 * The LightningModule being built. `--to module` moves the plain script's statements into the
 * module's methods: each transform decides where some statements go (`place`) and what changes
 * inside them (text edits against the original, as everywhere in the codemod); at the end
 * `module-class.ts` renders every method from its placed statements (`EditSet.render`, so the
 * edits inside them apply) and replaces the training function with the class.
 *
 * A statement goes to one method, so "which method is this code in" (`methodOf`) is known for
 * every piece of moved code: a variable declared in one method and read in another becomes a
 * field, a shared dataset is read through `this.datasets` except where it is built, and so on.
 */
import type { Identifier, ParameterDeclaration, Statement, VariableDeclaration } from "ts-morph";
import type { ModelInstance } from "../../analysis/types.ts";
import { Node } from "../../morph.ts";
import type { TransformContext } from "../context.ts";
import { CallSite } from "./call-site.ts";
import { ConfigConstants } from "./config.ts";
import type { Structure } from "./structure.ts";

/** The module's methods, in the order they are written (the order Lightning runs them). */
export const METHOD_ORDER = [
  "constructor",
  "forward",
  "onFitStart",
  "onTrainEpochStart",
  "onTrainBatchStart",
  "trainingStep",
  "configureGradientClipping",
  "onTrainEpochEnd",
  "onValidationEpochStart",
  "validationStep",
  "onTestEpochStart",
  "testStep",
  "onTestEpochEnd",
  "onFitEnd",
  "configureOptimizers",
  "setup",
  "loadDatasets",
  "trainDataloader",
  "valDataloader",
  "testDataloader",
  // The script's own functions that read the module's state (`checkpoint(epoch)` saving the
  // model): each becomes a private method (helper-methods.ts).
  "helperMethods",
] as const;
export type MethodName = (typeof METHOD_ORDER)[number];

/**
 * Where a statement goes: a method, the top level before the module is built, copied to the top
 * of every method that reads it (configuration constants), or nowhere.
 */
export type Destination = MethodName | "callSite" | "copied" | "drop";

export type Piece = { kind: "statement"; node: Statement } | { kind: "text"; text: string };

export interface Field {
  name: string;
  /** `= 0`, or `!: T` (assigned before use, by a hook). */
  declaration: string;
  /** Read by the script after fit (what the training function returned): not private. */
  public?: true;
}

/** A model of the plain script, now a field of the module. */
export interface ModelField {
  instance: ModelInstance;
  field: string;
  /** `new Net()` as it will be written (rendered at assembly), or the constructor parameter handed the model. */
  declaration: VariableDeclaration | ParameterDeclaration;
  /** Built in the constructor (its initializer reads the constructor's parameters) rather than as a field initializer. */
  inConstructor: boolean;
  /** Type for a field assigned in the constructor. */
  type: string;
  /** Handed to the training function: the constructor's parameter property is the field (models.ts modelParameter). */
  parameter?: true;
}

export interface TrainerFlag {
  name: string;
  /** The value as written at a call site (null: it cannot be written there). */
  value: (site: CallSite) => string | null;
  /** The code it comes from (where a TODO goes when the value cannot be written). */
  anchor: Node;
}

/**
 * What the `--to module` transforms share. Each field says which files write it and which read
 * it: module.ts must run the writers before the readers. What only one later step needs is not
 * here: the step returns it and module.ts passes it on (`TrainingStep`, `SharedData`,
 * `ResumedEpochStart`).
 */
export class ModuleBuilder {
  /**
   * The statements (and generated text) of each method, in order. Appended to by `place` and
   * `append`: models.ts (constructor), training-step.ts, manual-optimization.ts, clipping.ts,
   * configure-optimizers.ts, eval-steps.ts, epoch-hooks.ts, entry-code.ts, dataloaders.ts.
   * Rendered by module-class.ts once everything is placed.
   */
  readonly pieces = new Map<MethodName, Piece[]>();
  /**
   * Code at the top of a method, in order, without duplicates: bindings such as
   * `const optimizer = this.optimizers();` and copies of the script's configuration constants.
   * Written (`prelude`) by config.ts, rewrite-uses.ts and inline-helpers.ts, after every
   * statement is placed (they add to the methods that read something); rendered by
   * module-class.ts.
   */
  readonly preludes = new Map<MethodName, Piece[]>();
  /**
   * Where each statement goes. The first `place` wins: a later transform skips what is placed
   * (`isPlaced`), so module.ts's order decides (the training step's statements before the
   * epoch hooks', data before the leftover code before training). Read through `methodOf`,
   * `isPlaced`, `destinationOf` and `placements`: while placing by configure-optimizers.ts,
   * epoch-hooks.ts, entry-code.ts and dataloaders.ts; once all is placed by config.ts
   * (`copyIntoMethods`), fields.ts, rewrite-uses.ts and inline-helpers.ts.
   */
  private readonly placement = new Map<Node, Destination>();
  /**
   * Fields for variables read in more than one method (`private total = 0;`). Written by
   * fields.ts (`addField`), read by module-class.ts.
   */
  readonly fields: Field[] = [];
  /**
   * What the training function returns at its end (`return allLosses;`), a variable that becomes a
   * public field; the call site reads it from the module after fit. Set by entry-code.ts, read by
   * fields.ts and trainer.ts.
   */
  result: { declaration: Node; field: string | null } | null = null;
  /**
   * The parameter the training function hands back (`return model;`): each call site that keeps
   * the result (`modelFt = await trainModel(modelFt, ...)`) reads its own argument instead. Set by
   * entry-code.ts, read by trainer.ts.
   */
  returnedParameter: ParameterDeclaration | null = null;
  /**
   * The trained models, now fields. Written by models.ts, the first transform; read by
   * statements.ts (`modelDecls`, for training-step.ts, epoch-hooks.ts, entry-code.ts,
   * dataloaders.ts and clipping.ts), clipping.ts, models.ts (`moduleForward`) and
   * module-class.ts.
   */
  readonly models: ModelField[] = [];
  /**
   * The Trainer's flags. Written (`flag`) by trainer.ts (`maxEpochs`), accumulation.ts and
   * clipping.ts; each value is computed by trainer.ts when it writes a call site (from
   * module-class.ts, at the end).
   */
  readonly trainerFlags: TrainerFlag[] = [];
  /**
   * Statements run at the top level before the module is built (`manualSeed(1)`), in order.
   * Placed (`"callSite"`) by entry-code.ts; written out by trainer.ts.
   */
  readonly callSite: Statement[] = [];
  /**
   * Code that is replaced as a whole (a helper's call, by its returned value): nothing inside it
   * is moved. Written by epoch-hooks.ts (`consume`); `methodOf` answers null inside it.
   */
  private readonly consumed: Node[] = [];
  /**
   * Declarations whose uses are written differently in the module (`model` → `this.model`),
   * keyed by declaration node; the function gets the use and the method it ends up in, and
   * returns the text (null: leave it). Installed by models.ts, rewrite-uses.ts (`entryRewrites`:
   * main's parameters, the epoch counter), dataloaders.ts (`this.datasets.x`) and fields.ts
   * (`this.x`); applied by rewrite-uses.ts (`rewriteUses`, after fields.ts, so that all are
   * installed) and inline-helpers.ts. A function may run before then (`moduleText`, for code
   * written twice), so it reads what it needs when it runs.
   */
  readonly rewrites = new Map<Node, (use: Identifier, method: Destination | null) => string | null>();
  /**
   * Names already taken in the class (members of LightningModule included). rewrite-uses.ts
   * adds main's parameters (constructor parameter properties); `freshMember` takes names for
   * models.ts's model fields, then fields.ts's fields.
   */
  readonly memberNames = new Set<string>(LIGHTNING_MODULE_MEMBERS);
  /**
   * Models the script builds before the module exists (chosen by code that awaits or reads what
   * the script computed, nanoGPT's `let model: GPT; if (initFrom === "resume") { ... await load(...) }`),
   * handed to the constructor: its parameter, typed, and the call site's argument. Written by
   * models.ts, read by module-class.ts (constructor) and trainer.ts (the call).
   */
  readonly handedToConstructor: { field: string; type: string; argument: string }[] = [];
  /** Names the output imports from `lightning-ts`: module.ts's two, and `LightningOptimizer` when helper-methods.ts types a parameter with it. */
  readonly runtimeImports = new Set<string>(["LightningModule", "Trainer"]);
  /** Entry parameters whose constructor property is named differently (a LightningModule member's name). Written by rewrite-uses.ts, read by module-class.ts. */
  readonly parameterProperties = new Map<Node, string>();
  /** How the script names `tf` (`tf`, an alias, or `torch.tf`), for parameter types (models.ts, module-class.ts). */
  readonly tfName: string;
  /**
   * The script's configuration constants (`const accumSteps = args.accumSteps`). Found when the
   * builder is made (after device code is removed, before any transform); module.ts marks them
   * copied (`placeAll`) and, once all is placed, copies them into the methods that read them.
   * Asked (`has`) by call-site.ts, models.ts, configure-optimizers.ts, dataloaders.ts,
   * entry-code.ts, rewrite-uses.ts and inline-helpers.ts.
   */
  readonly config: ConfigConstants;
  /**
   * The first call site, to ask whether a value can be written where the Trainer is built
   * (trainer.ts, training-step.ts, clipping.ts, rewrite-uses.ts, module.ts).
   */
  readonly probe: CallSite;

  constructor(
    readonly ctx: TransformContext,
    readonly structure: Structure,
    readonly className: string,
  ) {
    this.tfName = tfName(ctx);
    this.config = new ConfigConstants(this);
    this.probe = new CallSite(this, structure.entry.calls[0] ?? null);
  }

  /**
   * Text opening the body of a function that became a private method (helper-methods.ts): for
   * such a method what `prelude` is for a hook (the configuration constants it reads, the
   * optimizer under manual optimisation). Each text once per method.
   */
  openHelperBody(fn: Node, text: string): void {
    const body = Node.isFunctionDeclaration(fn) ? fn.getBody() : undefined;
    if (!body || !Node.isBlock(body)) return;
    const key = `${body.getStart()}\u0000${text}`;
    if (this.helperOpenings.has(key)) return;
    this.helperOpenings.add(key);
    this.ctx.edits.insert(body.getStart() + 1, `\n${text}`, "module-text");
  }

  private readonly helperOpenings = new Set<string>();

  /**
   * One model, whose forward the module's can mirror: not a model of a union type (`let model:
   * RNNModel | TransformerModel`, built by an `if`), whose forwards differ (the script casts).
   */
  get hasForward(): boolean {
    if (this.models.length !== 1) return false;
    const decl = this.models[0]!.instance.declaration;
    const type = Node.isVariableDeclaration(decl) ? decl.getTypeNode() : undefined;
    return !(type && Node.isUnionTypeNode(type));
  }

  get text(): string {
    return this.ctx.analysis.text;
  }

  /** Puts `statement` at the end of `method` (or records that it goes to the call site, or nowhere). */
  place(statement: Statement, destination: Destination): void {
    if (this.placement.has(statement)) return;
    this.placement.set(statement, destination);
    if (destination === "drop" || destination === "copied") return;
    if (destination === "callSite") {
      // In the script's order, whichever transform placed them first.
      const at = this.callSite.findIndex((s) => s.getStart() > statement.getStart());
      this.callSite.splice(at === -1 ? this.callSite.length : at, 0, statement);
      return;
    }
    this.piecesOf(destination).push({ kind: "statement", node: statement });
  }

  /** Takes a statement back from where it was placed (to place it again). */
  unplace(statement: Node): void {
    const destination = this.placement.get(statement);
    if (destination === undefined) return;
    this.placement.delete(statement);
    if (destination === "callSite") this.callSite.splice(this.callSite.indexOf(statement as Statement), 1);
    else if (destination !== "drop" && destination !== "copied") {
      const list = this.piecesOf(destination);
      const i = list.findIndex((p) => p.kind === "statement" && p.node === statement);
      if (i !== -1) list.splice(i, 1);
    }
  }

  /** Placed statements with their destinations, in the order they were placed. */
  placements(): [Node, Destination][] {
    return [...this.placement.entries()];
  }

  /**
   * Uses of a declared name that remain in the output, counting the uses of a helper's parameter
   * as uses of what the call passes to it (the helper is inlined, see inline-helpers.ts).
   */
  usesOf(name: Identifier): Identifier[] {
    const { references } = this.ctx.analysis;
    const edits = this.ctx.edits;
    const decl = references.declarationOf(name);
    const out = references.usesOf(name).filter((u) => !edits.covers(u.getStart(), u.getEnd()));
    for (const site of [this.structure.train, this.structure.validation, this.structure.test]) {
      const h = site?.helper;
      if (!h) continue;
      h.fn.node.getParameters().forEach((p, i) => {
        const arg = h.call.getArguments()[i];
        if (!arg || !Node.isIdentifier(arg) || references.declarationOf(arg) !== decl) return;
        out.push(...references.usesOf(p.getNameNode() as Identifier).filter((u) => !edits.covers(u.getStart(), u.getEnd())));
      });
    }
    return out;
  }

  /**
   * `decls` and the helper parameters they are passed to (`trainEpoch(model, loader, optimizer)`
   * makes the helper's `optimizer` the same optimizer).
   */
  withAliases(decls: Iterable<Node>): Set<Node> {
    const out = new Set<Node>(decls);
    const { references } = this.ctx.analysis;
    for (const site of [this.structure.train, this.structure.validation, this.structure.test]) {
      const h = site?.helper;
      if (!h) continue;
      h.fn.node.getParameters().forEach((p, i) => {
        const arg = h.call.getArguments()[i];
        if (arg && Node.isIdentifier(arg) && out.has(references.declarationOf(arg) as Node)) out.add(p);
      });
    }
    return out;
  }

  /** Records where code that is not a statement of its own ends up (a helper's returned value: where its call went). */
  locate(node: Node, destination: Destination): void {
    this.placement.set(node, destination);
  }

  isPlaced(statement: Node): boolean {
    return this.placement.has(statement);
  }

  destinationOf(statement: Node): Destination | undefined {
    return this.placement.get(statement);
  }

  /** Adds generated code at the end of `method`. */
  append(method: MethodName, text: string): void {
    this.piecesOf(method).push({ kind: "text", text });
  }

  prelude(method: MethodName, piece: Piece | string): void {
    const p: Piece = typeof piece === "string" ? { kind: "text", text: piece } : piece;
    const list = this.preludes.get(method) ?? [];
    const same = (q: Piece) => (q.kind === "text" && p.kind === "text" ? q.text === p.text : q.kind === "statement" && p.kind === "statement" && q.node === p.node);
    if (!list.some(same)) list.push(p);
    this.preludes.set(method, list);
  }

  piecesOf(method: MethodName): Piece[] {
    let list = this.pieces.get(method);
    if (!list) {
      list = [];
      this.pieces.set(method, list);
    }
    return list;
  }

  has(method: MethodName): boolean {
    return (this.pieces.get(method)?.length ?? 0) > 0;
  }

  /** Marks code that is replaced as a whole (see `consumed`). */
  consume(node: Node): void {
    this.consumed.push(node);
  }

  /** Where the code at `node` ends up: the destination of the nearest placed statement around it (null: nowhere). */
  methodOf(node: Node): Destination | null {
    if (this.consumed.some((c) => c.getStart() <= node.getStart() && node.getEnd() <= c.getEnd())) return null;
    for (let a: Node | undefined = node; a; a = a.getParent()) {
      const d = this.placement.get(a);
      if (d !== undefined) return d === "drop" ? null : d;
    }
    return null;
  }

  /** A member name not taken yet, from `wanted` (then `wanted2`, ...). */
  freshMember(wanted: string): string {
    let name = wanted;
    for (let i = 2; this.memberNames.has(name); i++) name = `${wanted}${i}`;
    this.memberNames.add(name);
    return name;
  }

  addField(field: Field): void {
    this.fields.push(field);
  }

  flag(name: string, anchor: Node, value: (site: CallSite) => string | null): void {
    const existing = this.trainerFlags.findIndex((f) => f.name === name);
    if (existing !== -1) this.trainerFlags.splice(existing, 1);
    this.trainerFlags.push({ name, value, anchor });
  }

  note(text: string): void {
    this.ctx.notes.push(text);
  }

  line(node: Node): number {
    return this.ctx.lineOf(node.getStart());
  }
}

/** How the script names tf: `tf`, its alias, or `torch.tf` through a namespace import. */
function tfName(ctx: TransformContext): string {
  const torch = ctx.analysis.torchImport;
  if (!torch) return "tf";
  for (const [local, exported] of torch.named) if (exported === "tf") return local;
  return torch.namespaces[0] ? `${torch.namespaces[0]}.tf` : "tf";
}

/**
 * Property names of LightningModule and nn.Module instances (methods, hooks, getters, state): a
 * field named like one of them would shadow it.
 */
export const LIGHTNING_MODULE_MEMBERS = [
  // nn.Module
  "training", "forward", "parameters", "namedParameters", "children", "namedChildren", "modules", "namedModules",
  "buffers", "namedBuffers", "stateDict", "loadStateDict", "train", "eval", "to", "cuda", "cpu", "zeroGrad", "apply",
  "registerBuffer", "registerModule", "requiresGrad", "type", "half", "float", "double", "call",
  // LightningModule
  "automaticOptimization", "prepareDataPerNode", "strictLoading", "hparams", "trainer", "hasTrainer", "currentEpoch",
  "globalStep", "device", "onGpu", "globalRank", "localRank", "logger", "loggers", "print", "trainingStep",
  "validationStep", "testStep", "predictStep", "configureOptimizers", "configureCallbacks", "log", "logDict",
  "saveHyperparameters", "hparamsInitial", "optimizers", "lrSchedulers", "manualBackward", "backward",
  "toggleOptimizer", "untoggleOptimizer", "clipGradients", "configureGradientClipping", "optimizerStep",
  "optimizerZeroGrad", "lrSchedulerStep", "allGather", "freeze", "unfreeze", "prepareData", "setup", "teardown",
  "trainDataloader", "valDataloader", "testDataloader", "predictDataloader", "transferBatchToDevice",
  "onBeforeBatchTransfer", "onAfterBatchTransfer", "onLoadCheckpoint", "onSaveCheckpoint", "loadFromCheckpoint",
  "onFitStart", "onFitEnd", "onTrainStart", "onTrainEnd", "onValidationStart", "onValidationEnd", "onTestStart",
  "onTestEnd", "onPredictStart", "onPredictEnd", "onTrainBatchStart", "onTrainBatchEnd", "onValidationBatchStart",
  "onValidationBatchEnd", "onTestBatchStart", "onTestBatchEnd", "onPredictBatchStart", "onPredictBatchEnd",
  "onValidationModelZeroGrad", "onValidationModelEval", "onValidationModelTrain", "onTestModelEval",
  "onTestModelTrain", "onPredictModelEval", "onTrainEpochStart", "onTrainEpochEnd", "onValidationEpochStart",
  "onValidationEpochEnd", "onTestEpochStart", "onTestEpochEnd", "onPredictEpochStart", "onPredictEpochEnd",
  "onBeforeZeroGrad", "onBeforeBackward", "onAfterBackward", "onBeforeOptimizerStep", "configureModel",
  // what the codemod itself adds
  "datasets", "loadDatasets", "constructor",
];

/** `lossD` → `loss_d`: metric names in Lightning's snake_case. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toLowerCase();
}
