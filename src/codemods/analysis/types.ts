/**
 * `ScriptAnalysis`: everything the transforms need to know about a plain training script,
 * found in one walk over the syntax tree (`analyze.ts`). It is shared by `--to lite` and
 * `--to module`, so it records more than the lite transform uses (epoch loops, validation and
 * test loops, zeroGrad/step calls, schedulers).
 *
 * Nodes are ts-morph nodes of the parsed original; positions in them are offsets into the
 * original text, which is what the edits are written against.
 */
import type {
  ArrowFunction,
  CallExpression,
  ClassDeclaration,
  Expression,
  ForOfStatement,
  FunctionDeclaration,
  FunctionExpression,
  Identifier,
  IfStatement,
  ImportDeclaration,
  NewExpression,
  ParameterDeclaration,
  SourceFile,
  Statement,
  VariableDeclaration,
  Node,
} from "ts-morph";
import type { ReferenceIndex } from "./references.ts";
import type { DeviceClassifier } from "./device.ts";

/** How the script imports `lightning-ts/torch`; several imports of it are merged here. */
export interface TorchImport {
  declarations: ImportDeclaration[];
  /** The module specifier as written (`lightning-ts/torch`, or a relative path to src/torch). */
  moduleSpecifier: string;
  /** Local names of `import * as torch from ...`. */
  namespaces: string[];
  /** Local name → exported name, for `import { nn, optim as O }`. */
  named: Map<string, string>;
}

/** A function that can be called: declared with `function`, or a `const` bound to a function. */
export type FunctionNode = FunctionDeclaration | FunctionExpression | ArrowFunction;

export interface LocalFunction {
  node: FunctionNode;
  name: string;
  /** The identifier that binds the name (function name, or the `const` variable). */
  nameNode: Identifier;
  /** The statement that declares it (the function declaration or the variable statement). */
  statement: Statement;
  /** Direct calls `name(...)`. */
  calls: CallExpression[];
  /** References that are not direct calls (passed as a value, exported, ...). */
  otherReferences: Identifier[];
}

/**
 * Where the training code lives: the body of the function the script calls at top level
 * (`main`), or, for a script without one, a run of top-level statements.
 */
export type Entry =
  | {
      kind: "function";
      fn: LocalFunction;
      /** Top-level calls of it: `main({...})`, `await main(...)`, `main().catch(...)`. */
      calls: CallExpression[];
    }
  | {
      kind: "script";
      /** Consecutive top-level statements, from the first training statement to the last one. */
      statements: Statement[];
    };

export interface ModelInstance {
  name: string;
  declaration: VariableDeclaration;
  /** The local `nn.Module` subclass constructed, when known. */
  className: string | null;
  optimizers: OptimizerInstance[];
}

export interface OptimizerInstance {
  /** Variable it is bound to, when it is bound to a plain identifier. */
  declaration: VariableDeclaration | null;
  name: string | null;
  construction: NewExpression;
  /** `Adam`, `SGD`, ... */
  className: string;
  /** Models whose parameters it optimizes, in order of appearance. */
  models: ModelInstance[];
  /**
   * `--to module`: the script's call that makes it, when a method of a model class builds it
   * (`const optimizer = model.configureOptimizers(...)`; optimizer-factories.ts).
   */
  factoryCall?: CallExpression;
}

export interface SchedulerInstance {
  declaration: VariableDeclaration | null;
  name: string | null;
  construction: NewExpression;
  className: string;
  optimizer: OptimizerInstance | null;
}

export interface DataLoaderConstruction {
  construction: NewExpression;
  declaration: VariableDeclaration | null;
  name: string | null;
}

export interface BackwardCall {
  call: CallExpression;
  /** The loss expression: the receiver of `.backward()`, or the argument of `backward(loss)`. */
  loss: Expression;
  /** `loss.backward()` or the torch function `backward(loss)`. */
  form: "method" | "function";
  /** Extra arguments (`loss.backward(opts)`), which the lite transform does not convert. */
  extraArguments: Expression[];
}

export interface TrainingLoop {
  /** The innermost `for...of` over batches containing (directly or through helpers) a backward. */
  batchLoop: ForOfStatement;
  /** The loop around it, in the same function or around the call of its helper. */
  epochLoop: Statement | null;
  /** The iterated expression (usually a loader variable). */
  loader: Expression;
  backward: BackwardCall[];
}

export interface EvalLoop {
  loop: ForOfStatement;
  loader: Expression;
  kind: "validation" | "test" | "eval";
  underNoGrad: boolean;
  underEvalMode: boolean;
}

export type DeviceMoveForm = "to" | "cuda" | "cpu";

export interface DeviceMove {
  call: CallExpression;
  form: DeviceMoveForm;
  /** What is moved. */
  receiver: Expression;
  /** The device argument of `.to(...)`. */
  argument: Expression | null;
  /** False for `.to(x)` where `x` is not recognisably a device: left alone, marked TODO. */
  recognized: boolean;
}

export interface DeviceVariable {
  declaration: VariableDeclaration;
  name: string;
}

export interface DeviceParameter {
  fn: LocalFunction;
  parameter: ParameterDeclaration;
  index: number;
}

export interface CheckpointCall {
  call: CallExpression;
  kind: "save" | "load";
  /** `saveSync` / `loadSync`. */
  sync: boolean;
}

export interface ClipGradCall {
  call: CallExpression;
  kind: "norm" | "value";
}

export interface ScriptAnalysis {
  sourceFile: SourceFile;
  text: string;
  references: ReferenceIndex;
  /** Device classification (what is a device expression, a device condition). */
  device: DeviceClassifier;
  torchImport: TorchImport | null;
  /** `extends LightningLite` / `extends LightningModule` found: the script is already migrated. */
  alreadyMigrated: "lite" | "module" | null;
  /** Names declared at top level (to pick fresh names: the Lite class, helper parameters). */
  topLevelNames: Set<string>;
  modelClasses: ClassDeclaration[];
  functions: LocalFunction[];
  entry: Entry | null;
  models: ModelInstance[];
  optimizers: OptimizerInstance[];
  /**
   * `--to module`: the optimizer the training function is handed as its parameter (handed-in.ts);
   * `optimizers` then holds none (those the callers build stay theirs).
   */
  handedInOptimizer?: ParameterDeclaration | null;
  schedulers: SchedulerInstance[];
  dataloaders: DataLoaderConstruction[];
  backwardCalls: BackwardCall[];
  zeroGradCalls: CallExpression[];
  stepCalls: CallExpression[];
  trainingLoops: TrainingLoop[];
  evalLoops: EvalLoop[];
  deviceVariables: DeviceVariable[];
  deviceMoves: DeviceMove[];
  /** `if (cuda.isAvailable()) {...}` and other ifs whose condition reads only device state. */
  deviceConditionals: IfStatement[];
  deviceParameters: DeviceParameter[];
  checkpointCalls: CheckpointCall[];
  clipGradCalls: ClipGradCall[];
  /** Enclosing function of a node (`null` at top level), arrows included. */
  enclosingFunction(node: Node): Node | null;
}
