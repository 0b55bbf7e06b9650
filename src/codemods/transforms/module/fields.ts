/**
 * Variables that now live in two methods become fields. The plain loop's epoch accumulators are
 * declared at the top of the epoch, added to in the batch loop and reported at its end; in the
 * module those are three hooks, so:
 *
 *   let totalLoss = 0;          →  private totalLoss = 0;              (the field)
 *                                  onTrainEpochStart() { this.totalLoss = 0; }   (the declaration, now a reset)
 *   totalLoss += loss.item();   →  this.totalLoss += loss.item();      (in trainingStep)
 *
 * A field's type comes from its initializer when that is a literal (`= 0`), else from its type
 * annotation or its `new X(...)`; it is then declared `!:` (a hook assigns it before use).
 */
import type { ArrayBindingPattern, Identifier, VariableDeclaration, VariableStatement } from "ts-morph";
import { torchPath } from "../../analysis/torch.ts";
import type { ReferenceIndex } from "../../analysis/references.ts";
import { Node, unwrap } from "../../morph.ts";
import type { Destination, ModuleBuilder } from "./builder.ts";
import { CannotMap } from "./structure.ts";
import { declaredNames, tensorTypeName, withoutMoves } from "./statements.ts";

/** Destinations whose variables are handled elsewhere (optimizers through `this.optimizers()`, shared data through `this.datasets`). */
const NOT_FIELDS = new Set<Destination>([
  "configureOptimizers",
  "loadDatasets",
  "trainDataloader",
  "valDataloader",
  "testDataloader",
  "callSite",
  "drop",
  "copied",
  "constructor",
  "helperMethods",
]);

/** `forced`: declarations that become fields even when read in one method only (something else reads them as `this.x`). */
export function makeFields(m: ModuleBuilder, forced: readonly Node[]): void {
  const { analysis } = m.ctx;
  const refs = analysis.references;
  for (const [statement, destination] of m.placements()) {
    if (NOT_FIELDS.has(destination)) continue;
    if (Node.isFunctionDeclaration(statement) || Node.isClassDeclaration(statement)) {
      const name = statement.getNameNode();
      const elsewhere = name && m.usesOf(name).some((u) => m.methodOf(u) !== null && m.methodOf(u) !== destination);
      if (elsewhere) throw new CannotMap(statement, `${name.getText()} is declared inside the training function but used in several of the module's methods; declare it at the top level`);
      continue;
    }
    if (!Node.isVariableStatement(statement)) continue;
    const names = declaredNames(statement);
    const crosses = names.some((n) => m.usesOf(n).some((u) => {
      const method = m.methodOf(u);
      return method !== null && method !== destination;
    }));
    const returned = m.result !== null && names.some((n) => refs.declarationOf(n) === m.result!.declaration);
    if (!crosses && !returned && !names.some((n) => forced.includes(refs.declarationOf(n)!))) continue;
    fieldify(m, statement);
  }
}

/** Makes the variables `statement` declares fields of the module (`this.x = ...`); their uses read `this.x`. */
export function fieldify(m: ModuleBuilder, statement: VariableStatement): void {
  const { edits } = m.ctx;
  const declarations = statement.getDeclarations();
  if (declarations.length === 1 && Node.isArrayBindingPattern(declarations[0]!.getNameNode())) {
    fieldifyArrayPattern(m, statement, declarations[0]!);
    return;
  }
  for (const d of declarations) {
    if (!Node.isIdentifier(d.getNameNode())) {
      throw new CannotMap(d, `\`${d.getNameNode().getText()}\` is read in another hook than where it is set; declare its parts one by one so that they can become fields`);
    }
  }
  // `let a = 0, b = 0;` → `this.a = 0; this.b = 0;`
  edits.delete(statement.getStart(), declarations[0]!.getStart(), "module-field");
  declarations.forEach((d, i) => {
    const name = d.getNameNode() as Identifier;
    const field = m.freshMember(name.getText());
    const init = d.getInitializer();
    const typeNode = d.getTypeNode();
    edits.replace(name.getStart(), (typeNode ?? name).getEnd(), `this.${field}`, "module-field");
    // (`let hidden!: Hidden;`: unset until assigned, which the `!` told the compiler to trust)
    if (!init) edits.insert(d.getEnd(), d.hasExclamationToken() ? " = undefined!" : " = undefined", "module-field");
    if (i > 0) edits.replace(declarations[i - 1]!.getEnd(), d.getStart(), "; ", "module-field");
    const returned = m.result?.declaration === d;
    if (returned) m.result!.field = field;
    m.addField({ name: field, declaration: fieldDeclaration(m, d.getNameNode() as Identifier, init, typeNode?.getText() ?? null), ...(returned ? { public: true as const } : {}) });
    m.rewrites.set(d, () => `this.${field}`);
  });
  m.note(`${declarations.map((d) => d.getName()).join(", ")} (line ${m.line(statement)}) → field${declarations.length > 1 ? "s" : ""} (read in more than one hook)`);
}

/**
 * `let [X, Y] = getBatch("train");` (nanoGPT's prefetched batch) → `[this.X, this.Y] = getBatch("train");`,
 * each name a field typed from the tuple the script declares: the pattern's annotation, or the
 * return type of its own function (`function getBatch(split: string): [tf.Tensor, tf.Tensor]`).
 */
function fieldifyArrayPattern(m: ModuleBuilder, statement: VariableStatement, d: VariableDeclaration): void {
  const { edits } = m.ctx;
  const pattern = d.getNameNode() as ArrayBindingPattern;
  const elements = pattern.getElements();
  const named = elements.map((e) => (Node.isBindingElement(e) && !e.getDotDotDotToken() && !e.getInitializer() && Node.isIdentifier(e.getNameNode()) ? e : null));
  const init = d.getInitializer();
  if (named.some((e, i) => e === null && !Node.isOmittedExpression(elements[i]!)) || !init) {
    throw new CannotMap(d, `\`${pattern.getText()}\` is read in another hook than where it is set; declare its parts one by one so that they can become fields`);
  }
  const types = tupleElementTypes(d.getTypeNode() ?? returnTypeOfCall(m, init));
  edits.delete(statement.getStart(), d.getStart(), "module-field");
  const typeNode = d.getTypeNode();
  if (typeNode) edits.delete(pattern.getEnd(), typeNode.getEnd(), "module-field");
  named.forEach((e, i) => {
    if (e === null) return;
    const name = e.getNameNode() as Identifier;
    const field = m.freshMember(name.getText());
    edits.replace(name.getStart(), name.getEnd(), `this.${field}`, "module-field");
    m.addField({ name: field, declaration: fieldDeclaration(m, name, undefined, types?.[i] ?? null) });
    m.rewrites.set(e, () => `this.${field}`);
  });
  m.note(`${pattern.getText()} (line ${m.line(statement)}) → fields (read in more than one hook)`);
}

/** The element types of a tuple type (`[tf.Tensor, tf.Tensor]`), or null. */
function tupleElementTypes(type: Node | undefined): string[] | null {
  return type !== undefined && Node.isTupleTypeNode(type) ? type.getElements().map((t) => t.getText()) : null;
}

/** The declared return type of the script's own function that `init` calls (`getBatch("train")`). */
function returnTypeOfCall(m: ModuleBuilder, init: Node): Node | undefined {
  const call = unwrap(init);
  if (!Node.isCallExpression(call) || !Node.isIdentifier(call.getExpression())) return undefined;
  const decl = m.ctx.analysis.references.declarationOf(call.getExpression() as Identifier);
  return decl && Node.isFunctionDeclaration(decl) ? decl.getReturnTypeNode() : undefined;
}

function fieldDeclaration(m: ModuleBuilder, name: Identifier, init: Node | undefined, type: string | null): string {
  const e = init ? withoutMoves(m, init) : null;
  if (e && isLiteral(e) && type === null && !Node.isNullLiteral(e)) return ` = ${e.getText()}`;
  if (type !== null) return e && isLiteral(e) ? `: ${type} = ${e.getText()}` : `!: ${type}`;
  if (e && Node.isNewExpression(e)) {
    const args = e.getTypeArguments();
    const cls = e.getExpression().getText();
    if (args.length > 0) return `!: ${cls}<${args.map((a) => a.getText()).join(", ")}>`;
    // A generic data class's defaults (`DataLoader<any, Tensor[]>`) are not what the script's
    // inferred type was (`DataLoader<[Tensor, number], [Tensor, Tensor]>`): without the checker
    // to infer it, the field takes any item type, so that every use that compiled still does.
    const generic = GENERIC_DATA_CLASSES.exec(cls);
    return `!: ${cls}${generic ? (generic[1] === "DataLoader" ? "<any, any>" : "<any>") : ""}`;
  }
  if (e && (Node.isTemplateExpression(e) || Node.isNoSubstitutionTemplateLiteral(e))) return "!: string";
  const tensorType = e ? tensorTypeOf(m, e) : null;
  if (tensorType) return `!: ${tensorType}`;
  if (e && isNumeric(e, m.ctx.analysis.references)) return "!: number";
  m.ctx.todos.add(name, `\`${name.getText()}\` became a field; the codemod cannot tell its type: declare it`);
  return "!: any";
}

/** torch's and tfjs's tensor factories: `randn([n, 4])`, `tf.zeros([3])`. */
const TENSOR_FACTORIES = new Set(["randn", "rand", "randint", "randnLike", "randLike", "randperm", "multinomial"]);
const TF_TENSOR_FACTORIES = /^(tensor[1-6]?d?|scalar|zeros|ones|zerosLike|onesLike|fill|eye|range|linspace|randomNormal|randomUniform|randomUniformInt|truncatedNormal|oneHot)$/;

/** Tensor methods that return a tensor of their receiver's type (`slice<T>(this: T): T`), and others that return one. */
const SAME_TYPE_METHODS = /^(slice|transpose|toFloat|toInt|cast|clone|add|sub|mul|div|neg|abs|exp|log|sqrt|square)$/;
const TENSOR_METHODS = /^(reshape|expandDims|squeeze|flatten|sum|mean|max|min|gather|concat|matMul)$/;

/**
 * The tensor type an expression has, where the script says it (no type checker here): a tensor
 * factory, a function of the script declared to return a tensor type (`function load():
 * tf.Tensor2D`), or a tensor method on such a tensor (`data.slice(...)` keeps `data`'s type).
 */
function tensorTypeOf(m: ModuleBuilder, e: Node, depth = 0): string | null {
  const u = unwrap(e);
  if (!Node.isCallExpression(u) || depth > 8) return null;
  const { references, functions } = m.ctx.analysis;
  const tensor = `${m.tfName}.Tensor`;
  const callee = u.getExpression();
  if (Node.isIdentifier(callee)) {
    const decl = references.declarationOf(callee);
    const fn = decl ? functions.find((f) => references.declarationOf(f.nameNode) === decl) : undefined;
    const declared = fn?.node.getReturnTypeNode()?.getText();
    const type = declared ? tensorTypeName(m, declared) : null;
    if (type) return type;
  }
  if (Node.isPropertyAccessExpression(callee) && (SAME_TYPE_METHODS.test(callee.getName()) || TENSOR_METHODS.test(callee.getName()))) {
    const receiver = unwrap(callee.getExpression());
    let type: string | null = null;
    if (Node.isCallExpression(receiver)) type = tensorTypeOf(m, receiver, depth + 1);
    else {
      const decl = Node.isIdentifier(receiver) ? references.declarationOf(receiver) : undefined;
      const init = decl && Node.isVariableDeclaration(decl) ? decl.getInitializer() : undefined;
      if (init) type = tensorTypeOf(m, init, depth + 1);
    }
    if (type !== null) return SAME_TYPE_METHODS.test(callee.getName()) ? type : tensor;
  }
  const path = torchPath(callee, references);
  if (path === null) return null;
  return TENSOR_FACTORIES.has(path) || (path.startsWith("tf.") && TF_TENSOR_FACTORIES.test(path.slice(3))) ? tensor : null;
}

const GENERIC_DATA_CLASSES = /(?:^|\.)(DataLoader|Subset|ConcatDataset|TensorDataset)$/;

function isLiteral(e: Node): boolean {
  if (Node.isNumericLiteral(e) || Node.isStringLiteral(e) || Node.isTrueLiteral(e) || Node.isFalseLiteral(e) || Node.isNoSubstitutionTemplateLiteral(e)) return true;
  if (Node.isNullLiteral(e) || (Node.isIdentifier(e) && e.getText() === "Infinity")) return true;
  return Node.isPrefixUnaryExpression(e) && (Node.isNumericLiteral(e.getOperand()) || e.getOperand().getText() === "Infinity");
}

/** An expression that evaluates to a number whatever it reads: arithmetic, `x.length`, `x.shape[0]`, `t.item()`, `Math.*`, `Date.now()`. */
export function isNumeric(e: Node, refs?: ReferenceIndex): boolean {
  const u = unwrap(e);
  if (Node.isNumericLiteral(u)) return true;
  if (Node.isIdentifier(u)) return u.getText() === "Infinity" || u.getText() === "NaN";
  if (Node.isPrefixUnaryExpression(u)) return isNumeric(u.getOperand(), refs);
  if (Node.isBinaryExpression(u)) {
    const op = u.getOperatorToken().getText();
    if (["-", "*", "/", "%", "**"].includes(op)) return true;
    return op === "+" && isNumeric(u.getLeft(), refs) && isNumeric(u.getRight(), refs);
  }
  if (Node.isPropertyAccessExpression(u)) return u.getName() === "length" || (refs !== undefined && numericProperty(u, refs));
  if (Node.isElementAccessExpression(u)) {
    const of = unwrap(u.getExpression());
    return Node.isPropertyAccessExpression(of) && of.getName() === "shape";
  }
  if (Node.isCallExpression(u)) {
    const callee = u.getExpression().getText();
    return /^(Math\.\w+|Date\.now|performance\.now|Number|parseInt|parseFloat)$/.test(callee) || /\.item$/.test(callee);
  }
  return false;
}

/** `args.lr` where `const args = { lr: Number(argv.lr), ... }`: the property's own value is a number. */
function numericProperty(access: Node, refs: ReferenceIndex): boolean {
  if (!Node.isPropertyAccessExpression(access)) return false;
  const receiver = unwrap(access.getExpression());
  if (!Node.isIdentifier(receiver)) return false;
  const decl = refs.declarationOf(receiver);
  const init = decl && Node.isVariableDeclaration(decl) ? decl.getInitializer() : undefined;
  const object = init ? unwrap(init) : undefined;
  if (!object || !Node.isObjectLiteralExpression(object)) return false;
  const property = object.getProperty(access.getName());
  const value = property && Node.isPropertyAssignment(property) ? property.getInitializer() : undefined;
  return value !== undefined && isNumeric(value, refs);
}
