/**
 * The analysis pass: one walk over the tree collects the nodes of interest and binds every
 * identifier; the rest is derived from those lists without walking again.
 */
import { Node, SyntaxKind, unwrap } from "../morph.ts";
import type { BinaryExpression, CallExpression, ClassDeclaration, Expression, ForOfStatement, Identifier, IfStatement, NewExpression, PropertyAccessExpression, VariableDeclaration } from "ts-morph";
import type { ParsedScript } from "../source.ts";
import { DeviceClassifier } from "./device.ts";
import { findEntry } from "./entry.ts";
import { collectLocalFunctions, isFunctionLike, makeOwnerOf } from "./functions.ts";
import { findEvalLoops, findTrainingLoops } from "./loops.ts";
import { enterScope, ReferenceIndex, Scope } from "./references.ts";
import { findTorchImport, torchBindingNames, torchPath } from "./torch.ts";
import type {
  BackwardCall,
  CheckpointCall,
  ClipGradCall,
  DataLoaderConstruction,
  DeviceMove,
  DeviceParameter,
  DeviceVariable,
  LocalFunction,
  ModelInstance,
  OptimizerInstance,
  SchedulerInstance,
  ScriptAnalysis,
} from "./types.ts";

export function analyzeScript(parsed: ParsedScript): ScriptAnalysis {
  const { sourceFile, text } = parsed;
  const refs = new ReferenceIndex();

  // ---- the one walk -------------------------------------------------------------------------
  const calls: CallExpression[] = [];
  const news: NewExpression[] = [];
  const classes: ClassDeclaration[] = [];
  const functionNodes: Node[] = [];
  const forOfs: ForOfStatement[] = [];
  const ifs: IfStatement[] = [];
  const variables: VariableDeclaration[] = [];
  const visit = (node: Node, scope: Scope): void => {
    switch (node.getKind()) {
      case SyntaxKind.Identifier:
        refs.add(node as Identifier, scope);
        return;
      case SyntaxKind.CallExpression:
        calls.push(node as CallExpression);
        break;
      case SyntaxKind.NewExpression:
        news.push(node as NewExpression);
        break;
      case SyntaxKind.ClassDeclaration:
        classes.push(node as ClassDeclaration);
        break;
      case SyntaxKind.FunctionDeclaration:
      case SyntaxKind.FunctionExpression:
      case SyntaxKind.ArrowFunction:
        functionNodes.push(node);
        break;
      case SyntaxKind.ForOfStatement:
        forOfs.push(node as ForOfStatement);
        break;
      case SyntaxKind.IfStatement:
        ifs.push(node as IfStatement);
        break;
      case SyntaxKind.VariableDeclaration:
        variables.push(node as VariableDeclaration);
        break;
    }
    const inner = enterScope(node, scope, refs);
    node.forEachChild((child) => visit(child, inner));
  };
  const moduleScope = new Scope(null, true);
  sourceFile.forEachChild((child) => visit(child, moduleScope));

  const torchImport = findTorchImport(sourceFile);
  const torchNames = torchBindingNames(torchImport, sourceFile, refs);
  const pathOf = (n: Node) => torchPath(n, refs, torchNames);

  // ---- already migrated? ----------------------------------------------------------------------
  let alreadyMigrated: ScriptAnalysis["alreadyMigrated"] = null;
  for (const c of classes) {
    const base = c.getExtends()?.getExpression().getText() ?? "";
    if (/(^|\.)LightningLite$/.test(base)) alreadyMigrated = "lite";
    else if (/(^|\.)LightningModule$/.test(base) && alreadyMigrated === null) alreadyMigrated = "module";
  }

  // ---- functions and owners ---------------------------------------------------------------------
  const functions = collectLocalFunctions(functionNodes, refs);
  const ownerOf = makeOwnerOf(functions);
  const functionByNode = new Map<Node, LocalFunction>(functions.map((f) => [f.node, f]));
  const functionOfParameter = (param: Node) => functionByNode.get(param.getParentOrThrow());
  const device = new DeviceClassifier(refs, pathOf, functionOfParameter);

  // ---- model classes ---------------------------------------------------------------------------
  const modelClasses: ClassDeclaration[] = [];
  for (let changed = true; changed; ) {
    changed = false;
    for (const c of classes) {
      if (modelClasses.includes(c)) continue;
      const base = c.getExtends()?.getExpression();
      if (!base) continue;
      const baseDecl = Node.isIdentifier(base) ? refs.declarationOf(base) : undefined;
      if (pathOf(base) === "nn.Module" || (baseDecl && modelClasses.includes(baseDecl as ClassDeclaration))) {
        modelClasses.push(c);
        changed = true;
      }
    }
  }

  /** `new Net()`, `new nn.Sequential(...)`, `nn.fromLayers(m)`, through device moves and `await`. */
  const modelConstruction = (expr: Node): { className: string | null } | null => {
    let e = unwrap(expr);
    while (Node.isCallExpression(e) && isMoveCallee(e)) e = unwrap(moveReceiver(e));
    if (Node.isAwaitExpression(e)) e = unwrap(e.getExpression());
    if (Node.isNewExpression(e)) {
      const callee = e.getExpression();
      const decl = Node.isIdentifier(callee) ? refs.declarationOf(callee) : undefined;
      if (decl && modelClasses.includes(decl as ClassDeclaration)) return { className: callee.getText() };
      const path = pathOf(callee);
      if (path && /^nn\.[A-Z]\w*$/.test(path)) return { className: null };
    }
    if (Node.isCallExpression(e) && pathOf(e.getExpression()) === "nn.fromLayers") return { className: null };
    return null;
  };

  // ---- models, optimizers, schedulers, dataloaders ---------------------------------------------
  const models: ModelInstance[] = [];
  const modelByDecl = new Map<Node, ModelInstance>();
  const addModel = (decl: VariableDeclaration, className: string | null): ModelInstance => {
    let m = modelByDecl.get(decl);
    if (!m) {
      m = { name: decl.getName(), declaration: decl, className, optimizers: [] };
      modelByDecl.set(decl, m);
      models.push(m);
    }
    return m;
  };
  for (const v of variables) {
    const init = v.getInitializer();
    if (!Node.isIdentifier(v.getNameNode())) continue;
    if (!init) {
      // `let model: GPT;` then `model = new GPT(config)` in each branch that chooses it (nanoGPT's init_from)
      const made = refs
        .usesOf(v.getNameNode() as Identifier)
        .map((u) => u.getParent())
        .filter((a): a is BinaryExpression => a !== undefined && Node.isBinaryExpression(a) && a.getOperatorToken().getText() === "=")
        .map((a) => modelConstruction(a.getRight()));
      // (the class it is when every branch builds the same one: `let model: RNNModel | TransformerModel` is neither)
      const classes = new Set(made.map((c) => c?.className ?? null));
      if (made.length > 0 && made.every((c) => c !== null)) addModel(v, classes.size === 1 ? [...classes][0]! : null);
      continue;
    }
    const made = modelConstruction(init);
    if (made) addModel(v, made.className);
  }

  const boundVariable = (expr: Node): VariableDeclaration | null => {
    let parent = expr.getParent();
    while (parent && (Node.isParenthesizedExpression(parent) || Node.isAwaitExpression(parent))) parent = parent.getParent();
    return parent && Node.isVariableDeclaration(parent) && Node.isIdentifier(parent.getNameNode()) ? parent : null;
  };

  const optimizers: OptimizerInstance[] = [];
  const schedulerNews: { node: NewExpression; className: string }[] = [];
  const dataloaders: DataLoaderConstruction[] = [];
  for (const n of news) {
    const path = pathOf(n.getExpression());
    if (!path) continue;
    if (/^optim\.lrScheduler\.\w+$/.test(path)) {
      schedulerNews.push({ node: n, className: path.split(".").pop()! });
    } else if (/^optim\.[A-Z]\w*$/.test(path) && path !== "optim.Optimizer") {
      const declaration = boundVariable(n);
      const opt: OptimizerInstance = {
        declaration,
        name: declaration?.getName() ?? null,
        construction: n,
        className: path.slice("optim.".length),
        models: [],
      };
      for (const decl of parameterOwners(n, refs)) {
        const existing = modelByDecl.get(decl);
        const model = existing ?? addModel(decl, null);
        if (!opt.models.includes(model)) opt.models.push(model);
        if (!model.optimizers.includes(opt)) model.optimizers.push(opt);
      }
      optimizers.push(opt);
    } else if (path === "data.DataLoader") {
      const declaration = boundVariable(n);
      dataloaders.push({ construction: n, declaration, name: declaration?.getName() ?? null });
    }
  }
  const schedulers: SchedulerInstance[] = schedulerNews.map(({ node, className }) => {
    const declaration = boundVariable(node);
    const first = node.getArguments()[0];
    const optDecl = first && Node.isIdentifier(unwrap(first)) ? refs.declarationOf(unwrap(first) as Identifier) : undefined;
    return {
      declaration,
      name: declaration?.getName() ?? null,
      construction: node,
      className,
      optimizer: optimizers.find((o) => o.declaration !== null && o.declaration === optDecl) ?? null,
    };
  });

  // ---- calls: backward, device moves, checkpoints, clipping, zeroGrad/step ----------------------
  const backwardCalls: BackwardCall[] = [];
  const deviceMoves: DeviceMove[] = [];
  const checkpointCalls: CheckpointCall[] = [];
  const clipGradCalls: ClipGradCall[] = [];
  const zeroGradCalls: CallExpression[] = [];
  const stepCalls: CallExpression[] = [];
  const noGradCalls: CallExpression[] = [];
  const modeCalls: { call: CallExpression; mode: "eval" | "train" }[] = [];
  const optimizerDecls = new Set<Node>(optimizers.flatMap((o) => (o.declaration ? [o.declaration] : [])));
  const isOptimizerRef = (e: Node) => {
    const u = unwrap(e);
    return Node.isIdentifier(u) && optimizerDecls.has(refs.declarationOf(u) as Node);
  };
  for (const call of calls) {
    const callee = call.getExpression();
    const path = pathOf(callee);
    const args = call.getArguments() as Expression[];
    if (path !== null) {
      if (path === "backward" && args.length >= 1) {
        backwardCalls.push({ call, loss: args[0]!, form: "function", extraArguments: args.slice(1) });
      } else if (path === "save" || path === "load" || path === "saveSync" || path === "loadSync") {
        checkpointCalls.push({ call, kind: path.startsWith("save") ? "save" : "load", sync: path.endsWith("Sync") });
      } else if (path === "nn.utils.clipGradNorm" || path === "nn.utils.clipGradValue") {
        clipGradCalls.push({ call, kind: path.endsWith("Norm") ? "norm" : "value" });
      } else if (path === "noGrad") {
        noGradCalls.push(call);
      }
      continue;
    }
    if (!Node.isPropertyAccessExpression(callee)) continue;
    const receiver = callee.getExpression();
    if (receiver.getKind() === SyntaxKind.ThisKeyword || receiver.getKind() === SyntaxKind.SuperKeyword) continue;
    switch (callee.getName()) {
      case "backward":
        backwardCalls.push({ call, loss: receiver, form: "method", extraArguments: args });
        break;
      case "to":
        if (args.length === 1) {
          const arg = unwrap(args[0]!);
          const literal = Node.isStringLiteral(arg) || Node.isNoSubstitutionTemplateLiteral(arg);
          const recognized = device.isDeviceExpression(arg) || device.isDeviceIndex(arg);
          // `.to("float32")` is not a device move; leave it alone.
          if (recognized || !literal) deviceMoves.push({ call, form: "to", receiver, argument: args[0]!, recognized });
        }
        break;
      case "cuda":
      case "cpu":
        if (args.length === 0 || (callee.getName() === "cuda" && args.length === 1 && Node.isNumericLiteral(unwrap(args[0]!)))) {
          deviceMoves.push({ call, form: callee.getName() as "cuda" | "cpu", receiver, argument: args[0] ?? null, recognized: true });
        }
        break;
      case "zeroGrad":
        zeroGradCalls.push(call);
        break;
      case "step":
        if (isOptimizerRef(receiver)) stepCalls.push(call);
        break;
      case "eval":
      case "train":
        if (args.length === 0 || callee.getName() === "train") modeCalls.push({ call, mode: callee.getName() as "eval" | "train" });
        break;
    }
  }

  // ---- device variables, conditionals, parameters -----------------------------------------------
  const deviceVariables: DeviceVariable[] = [];
  for (const v of variables) {
    const name = v.getNameNode();
    if (!Node.isIdentifier(name)) continue;
    const init = v.getInitializer();
    if (init ? device.isDeviceInitializer(init) : device.isAssignedOnlyDevices(name)) deviceVariables.push({ declaration: v, name: v.getName() });
  }
  const deviceConditionals = ifs.filter((s) => device.isDeviceCondition(s.getExpression()));
  const deviceParameters: DeviceParameter[] = [];
  for (const fn of functions) {
    fn.node.getParameters().forEach((parameter, index) => {
      if (device.isDeviceParameter(parameter)) deviceParameters.push({ fn, parameter, index });
    });
  }

  // ---- entry point and loops ----------------------------------------------------------------
  const entry = findEntry({ sourceFile, text, functions, ownerOf, backwardCalls, models, optimizers, dataloaders });
  const trainingLoops = findTrainingLoops(backwardCalls, ownerOf, functionByNode);
  const evalLoops = findEvalLoops({ forOfs, trainingLoops, backwardCalls, dataloaders, noGradCalls, modeCalls, ownerOf, refs });

  const topLevelNames = new Set<string>();
  for (const s of sourceFile.getStatements()) {
    if (Node.isVariableStatement(s)) s.getDeclarations().forEach((d) => collectBindingNames(d.getNameNode(), topLevelNames));
    else if (Node.isImportDeclaration(s)) {
      s.getNamedImports().forEach((i) => topLevelNames.add(i.getAliasNode()?.getText() ?? i.getName()));
      const ns = s.getNamespaceImport();
      if (ns) topLevelNames.add(ns.getText());
      const def = s.getDefaultImport();
      if (def) topLevelNames.add(def.getText());
    } else if (Node.isFunctionDeclaration(s) || Node.isClassDeclaration(s) || Node.isInterfaceDeclaration(s) || Node.isTypeAliasDeclaration(s) || Node.isEnumDeclaration(s)) {
      const name = s.getName();
      if (name) topLevelNames.add(name);
    }
  }

  return {
    sourceFile,
    text,
    references: refs,
    device,
    torchImport,
    alreadyMigrated,
    topLevelNames,
    modelClasses,
    functions,
    entry,
    models,
    optimizers,
    schedulers,
    dataloaders,
    backwardCalls,
    zeroGradCalls,
    stepCalls,
    trainingLoops,
    evalLoops,
    deviceVariables,
    deviceMoves,
    deviceConditionals,
    deviceParameters,
    checkpointCalls,
    clipGradCalls,
    enclosingFunction(node: Node) {
      return node.getFirstAncestor((a) => isFunctionLike(a)) ?? null;
    },
  };
}

/** `x.to(...)`, `x.cuda()`, `x.cpu()` as a callee shape (classification is in `DeviceClassifier`). */
function isMoveCallee(call: CallExpression): boolean {
  const callee = call.getExpression();
  return Node.isPropertyAccessExpression(callee) && ["to", "cuda", "cpu"].includes(callee.getName());
}

function moveReceiver(call: CallExpression): Node {
  return (call.getExpression() as PropertyAccessExpression).getExpression();
}

/**
 * Variables whose parameters an optimizer constructor receives: `model.parameters()`,
 * `[...g.parameters(), ...d.parameters()]`, `{ params: model.head.parameters() }`, or a
 * variable holding such a call (`const params = model.parameters()`).
 */
function parameterOwners(ctor: NewExpression, refs: ReferenceIndex): VariableDeclaration[] {
  const out: VariableDeclaration[] = [];
  const visit = (n: Node, depth: number) => {
    if (Node.isCallExpression(n)) {
      const callee = n.getExpression();
      if (Node.isPropertyAccessExpression(callee) && (callee.getName() === "parameters" || callee.getName() === "namedParameters")) {
        let root: Node = callee.getExpression();
        while (Node.isPropertyAccessExpression(root) || Node.isNonNullExpression(root) || Node.isParenthesizedExpression(root)) {
          root = root.getExpression();
        }
        if (Node.isIdentifier(root)) {
          const decl = refs.declarationOf(root);
          if (decl && Node.isVariableDeclaration(decl) && !out.includes(decl)) out.push(decl);
        }
        return;
      }
    }
    if (Node.isIdentifier(n) && depth < 2) {
      const decl = refs.declarationOf(n);
      const init = decl && Node.isVariableDeclaration(decl) ? decl.getInitializer() : undefined;
      if (init) visit(init, depth + 1);
      return;
    }
    n.forEachChild((c) => visit(c, depth));
  };
  ctor.getArguments().forEach((a) => visit(a, 0));
  return out;
}

export function collectBindingNames(name: Node, into: Set<string>): void {
  if (Node.isIdentifier(name)) into.add(name.getText());
  else if (Node.isObjectBindingPattern(name) || Node.isArrayBindingPattern(name)) {
    for (const el of name.getElements()) if (Node.isBindingElement(el)) collectBindingNames(el.getNameNode(), into);
  }
}
