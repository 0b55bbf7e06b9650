/**
 * Writes the LightningModule: fields, constructor, forward, then the steps and hooks in the
 * order Lightning runs them, each rendered from the statements placed in it (with their
 * comments, the blank lines between them and the edits made inside them), and puts the class
 * where the training function was. Prettier lays it out afterwards.
 *
 *   class NetModule extends LightningModule {
 *     model = new Net();
 *     constructor(private readonly args: { epochs: number; lr: number }) { super(); }
 *     override forward(x: tf.Tensor): tf.Tensor { return this.model.forward(x); }
 *     override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) { ... }
 *     override configureOptimizers() { ... }
 *     override async trainDataloader() { ... }
 *   }
 */
import type { ForOfStatement, Identifier, Statement } from "ts-morph";
import { Node, SyntaxKind, unwrap } from "../../morph.ts";
import { METHOD_ORDER, type MethodName, type ModuleBuilder, type Piece } from "./builder.ts";
import type { SharedData } from "./dataloaders.ts";
import { methodFromFunction } from "./helper-methods.ts";
import { inlinedHelpers, removeInlinedHelpers } from "./inline-helpers.ts";
import { findForward, moduleForward } from "./models.ts";
import { freshName, tensorTypeName } from "./statements.ts";
import { indexBindingOf, indexedIterable, isEpochIterable, isRecordLoader, yieldsTensorBatches } from "./structure.ts";
import { writeTrainerCalls } from "./trainer.ts";
import { spanStart, statementRemovalRange } from "../shared/ranges.ts";
import type { TrainingStep } from "./training-step.ts";

export const MODULE_TYPE = "LightningModule";

/** `training`: what buildTrainingStep made of the batch loop; `data`: what placeData shared through loadDatasets(). */
export function writeModuleClass(m: ModuleBuilder, training: TrainingStep, data: SharedData | null): void {
  const members: string[] = [];
  members.push(...fieldLines(m, training, data));
  for (const method of METHOD_ORDER) {
    const text = methodText(m, method, training, data);
    if (text) members.push(text);
  }
  const { entry } = m.structure;
  const exported = entry.fn && Node.isFunctionDeclaration(entry.fn.node) ? entry.fn.node.isExported() : entry.fn && Node.isVariableStatement(entry.fn.statement) && entry.fn.statement.isExported();
  const classText = `${exported ? "export " : ""}class ${m.className} extends ${MODULE_TYPE} {\n${members.join("\n\n")}\n}`;

  // The trainer calls replace main's calls (outside the function), then the function goes.
  const { topLevelCode } = writeTrainerCalls(m);
  const { edits } = m.ctx;
  // Top-level training code spans its statements, and the try whose block holds training
  // (EntryBody.tryAround: trainer.ts writes it again around the Trainer).
  const start = Math.min(entry.statements[0]!.getStart(), entry.tryAround?.getStart() ?? Infinity);
  const end = Math.max(entry.statements.at(-1)!.getEnd(), entry.tryAround?.getEnd() ?? 0);
  if (entry.fn) {
    const statement = entry.fn.statement;
    edits.replaceMoved(statement.getStart(), statement.getEnd(), classText, "module-class");
  } else {
    // Top-level training code: the class goes where it started and the Trainer's code where it
    // ended; the declarations among it (functions, classes, with their comments) stay where they
    // are, between. (A blank line above the class: the code before it stays where it was.)
    const first = entry.statements[0]!;
    const scriptStatements = m.ctx.analysis.entry?.kind === "script" ? m.ctx.analysis.entry.statements : [];
    // (an inlined helper declared among them goes with the code it was inlined into)
    const inlined = new Set<Node>(inlinedHelpers(m).map((h) => h.statement));
    const kept = scriptStatements.filter(
      (s) => !entry.statements.includes(s) && s !== entry.tryAround && !inlined.has(s) && m.destinationOf(s) !== "helperMethods" && s.getStart() > start && s.getEnd() < end,
    );
    // Training under a main guard: the class is a declaration of the module, above the guard.
    const guard = first.getParent()?.getParent();
    const guarded = guard !== undefined && Node.isIfStatement(guard) && Node.isSourceFile(guard.getParent());
    if (guarded) edits.insert(spanStart(guard, m.text), `${classText}\n\n`, "module-class");
    const here = guarded ? "" : `\n${classText}\n\n`;
    let from = start;
    kept.forEach((d, i) => {
      edits.replaceMoved(from, spanStart(d, m.text), i === 0 ? here : "\n", "module-class");
      from = d.getEnd();
    });
    edits.replaceMoved(from, end, kept.length === 0 ? `${here}${topLevelCode}` : `\n\n${topLevelCode}`, "module-class");
  }
  removeInlinedHelpers(m, entry.fn ? null : [start, end]);
  // A top-level function declared elsewhere that became a method (helper-methods.ts: one that
  // backpropagates) leaves its place.
  const replaced = entry.fn ? entry.fn.statement : null;
  for (const [s, destination] of m.placements()) {
    if (destination !== "helperMethods" || !Node.isSourceFile(s.getParent())) continue;
    if (replaced ? s === replaced : s.getStart() >= start && s.getEnd() <= end) continue;
    const r = statementRemovalRange(s, m.text);
    edits.replaceMoved(Math.min(r.start, spanStart(s, m.text)), r.end, "", "module-class");
  }
}

function fieldLines(m: ModuleBuilder, training: TrainingStep, data: SharedData | null): string[] {
  const { edits } = m.ctx;
  const lines: string[] = [];
  for (const f of m.models) {
    if (f.parameter) continue;
    if (f.inConstructor) {
      lines.push(`readonly ${f.field}: ${f.type};`);
    } else {
      const init = f.declaration.getInitializerOrThrow();
      lines.push(`${f.field} = ${edits.render(init.getStart(), init.getEnd())};`);
    }
  }
  if (training.manual) lines.push("override automaticOptimization = false;");
  for (const f of m.fields) lines.push(`${f.public ? "" : "private "}${f.name}${f.declaration};`);
  if (data && data.names.length > 0) {
    lines.push(`/** What loadDatasets() built (once, in setup()). */\nprivate datasets!: Awaited<ReturnType<${m.className}["loadDatasets"]>>;`);
  }
  return lines.length > 0 ? [lines.join("\n")] : [];
}

function methodText(m: ModuleBuilder, method: MethodName, training: TrainingStep, data: SharedData | null): string | null {
  if (method === "forward") return moduleForward(m);
  if (method === "helperMethods") {
    const pieces = m.pieces.get(method) ?? [];
    if (pieces.length === 0) return null;
    return pieces.map((p) => (p.kind === "statement" ? methodFromFunction(m.ctx.edits.render(p.node.getStart(), p.node.getEnd())) : p.text)).join("\n\n");
  }
  if (method === "setup") return data ? setupText(m, data) : null;
  const pieces = m.pieces.get(method) ?? [];
  const prelude = m.preludes.get(method) ?? [];
  if (method === "constructor") {
    const params = m.structure.entry.params.filter((p) => !m.ctx.edits.covers(p.getStart(), p.getEnd()));
    if (params.length === 0 && pieces.length === 0 && m.handedToConstructor.length === 0) return null;
    const list = [
      ...params.map((p) => {
        const text = m.ctx.edits.render(p.getStart(), p.getEnd());
        // (a destructured parameter is not a property: the constructor keeps its parts in fields)
        if (!Node.isIdentifier(p.getNameNode())) return text;
        const renamed = m.parameterProperties.get(p);
        return `private readonly ${renamed ? renamed + text.slice(p.getName().length) : text}`;
      }),
      ...m.handedToConstructor.map((h) => `readonly ${h.field}: ${h.type}`),
    ].join(", ");
    return `constructor(${list}) {\nsuper();\n${renderPieces(m, [...prelude, ...pieces])}}`;
  }
  if (pieces.length === 0) return null;
  const body = renderPieces(m, [...prelude, ...pieces]);
  const isAsync = /\bawait\b/.test(body);
  const head = header(m, method, training);
  return `${head.prefix}${isAsync ? "async " : ""}${method}(${head.params}) {\n${body}}`;
}

function header(m: ModuleBuilder, method: MethodName, training: TrainingStep): { prefix: string; params: string } {
  switch (method) {
    case "trainingStep":
      return { prefix: "override ", params: `${bindingText(m, m.structure.train.loop)}, ${training.batchIdxName}: number` };
    case "validationStep":
    case "testStep": {
      const loop = (method === "validationStep" ? m.structure.validation : m.structure.test)!.loop;
      const indexed = indexedIterable(loop) ? indexBindingOf(loop) : null;
      return { prefix: "override ", params: `${bindingText(m, loop)}, ${indexed ? indexed.index.getText() : freshName(m, loop, "batchIdx")}: number` };
    }
    case "loadDatasets":
      return { prefix: "private ", params: "" };
    default:
      return { prefix: "override ", params: "" };
  }
}

/** `[x, y]: [tf.Tensor, tf.Tensor]` from `for (const [x, y] of loader)`. */
function bindingText(m: ModuleBuilder, loop: ForOfStatement): string {
  const init = loop.getInitializer();
  // (`[i, [x, y]]` of an enumerate: the batch is `[x, y]`, the index is the step's batchIdx)
  const indexed = indexedIterable(loop) ? indexBindingOf(loop) : null;
  const name = indexed ? indexed.batch : Node.isVariableDeclarationList(init) ? init.getDeclarations()[0]?.getNameNode() : init;
  if (!name) return `batch: any`;
  const text = m.ctx.edits.render(name.getStart(), name.getEnd());
  const loader = loop === m.structure.train.loop ? m.structure.train.loader : null;
  if (loader && !yieldsTensorBatches(loader, m.ctx.analysis)) return `${text}: ${(!isEpochIterable(loader) && !isRecordLoader(loader) && elementTypeOf(m, loader)) || "any"}`;
  if (Node.isArrayBindingPattern(name)) {
    const types = name.getElements().map((el) => (Node.isBindingElement(el) && Node.isIdentifier(el.getNameNode()) ? forwardArgumentType(m, loop, el.getNameNode() as Identifier) : null) ?? `${m.tfName}.Tensor`);
    return `${text}: [${types.join(", ")}]`;
  }
  return `${text}: any`;
}

/**
 * The tensor type the model's `forward` declares for the parameter a batch element is passed to
 * (`forward(input: tf.Tensor2D)` called with `input`): the batch is typed as the model takes it.
 */
function forwardArgumentType(m: ModuleBuilder, loop: ForOfStatement, element: Identifier): string | null {
  const { references, modelClasses } = m.ctx.analysis;
  const decl = references.declarationOf(element);
  for (const call of loop.getStatement().getDescendantsOfKind(SyntaxKind.CallExpression)) {
    const callee = call.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== "forward") continue;
    const receiver = unwrap(callee.getExpression());
    const model = Node.isIdentifier(receiver) ? m.models.find((f) => f.declaration === references.declarationOf(receiver)) : undefined;
    const cls = model ? modelClasses.find((c) => c.getName() === model.instance.className) : undefined;
    const params = (cls ? findForward(cls, m) : null)?.getParameters() ?? [];
    const k = call.getArguments().findIndex((a) => Node.isIdentifier(unwrap(a)) && references.declarationOf(unwrap(a) as Identifier) === decl);
    const type = k === -1 ? undefined : params[k]?.getTypeNode()?.getText();
    const tensorType = type ? tensorTypeName(m, type) : null;
    if (tensorType) return tensorType;
  }
  return null;
}

/**
 * What a training loop over another iterable gets per step, where the script spells it out: a
 * call of its own function declared to return `IterableIterator<T>` / `Iterable<T>` /
 * `Generator<T, ...>` / `T[]` (`count(1)` → `number`). Null when it does not say.
 */
function elementTypeOf(m: ModuleBuilder, iterable: Node): string | null {
  // An array variable with its type written out (`const trainBatches: number[] = ...`).
  if (Node.isVariableDeclaration(iterable)) {
    const type = iterable.getTypeNode();
    return type && Node.isArrayTypeNode(type) ? type.getElementTypeNode().getText() : null;
  }
  const e = unwrap(iterable);
  // A parameter typed as an iterable (`trainDl: Loader`, `type Loader = Iterable<tf.Tensor[]> & { length: number }`).
  if (Node.isIdentifier(e)) {
    const decl = m.ctx.analysis.references.declarationOf(e);
    const type = decl && Node.isParameterDeclaration(decl) ? decl.getTypeNode() : undefined;
    return type ? iteratedType(m, type, 0) : null;
  }
  if (!Node.isCallExpression(e) || !Node.isIdentifier(e.getExpression())) return null;
  const decl = m.ctx.analysis.references.declarationOf(e.getExpression() as Identifier);
  const returnType = decl && Node.isFunctionDeclaration(decl) ? decl.getReturnTypeNode() : undefined;
  return returnType ? iteratedType(m, returnType, 0) : null;
}

/** `T` of a type written as `T[]`, `Iterable<T>` (and its kin), through the script's type aliases and intersections. */
function iteratedType(m: ModuleBuilder, type: Node, depth: number): string | null {
  if (depth > 4) return null;
  if (Node.isArrayTypeNode(type)) return type.getElementTypeNode().getText();
  if (Node.isIntersectionTypeNode(type)) {
    for (const part of type.getTypeNodes()) {
      const t = iteratedType(m, part, depth + 1);
      if (t) return t;
    }
    return null;
  }
  if (!Node.isTypeReference(type)) return null;
  const name = type.getTypeName().getText();
  if (/^(IterableIterator|Iterable|Generator|Array)$/.test(name)) return type.getTypeArguments()[0]?.getText() ?? null;
  const alias = m.ctx.analysis.sourceFile.getTypeAlias(name);
  return alias && alias.getTypeParameters().length === 0 ? iteratedType(m, alias.getTypeNodeOrThrow(), depth + 1) : null;
}

function setupText(m: ModuleBuilder, data: SharedData): string {
  const load = m.pieces.get("loadDatasets") ?? [];
  const isAsync = /\bawait\b/.test(load.map((p) => (p.kind === "text" ? p.text : p.node.getText())).join("\n"));
  if (data.names.length === 0) {
    return `override ${isAsync ? "async " : ""}setup() {\n${isAsync ? "await " : ""}this.loadDatasets();\n}`;
  }
  return (
    `override ${isAsync ? "async " : ""}setup() {\n` +
    `// Built once for fit and test alike, in the plain script's order: the same random draws.\n` +
    `this.datasets ??= ${isAsync ? "await " : ""}this.loadDatasets();\n}`
  );
}

/** Pieces as code: each statement with its comments, and the blank lines the script had between them. */
function renderPieces(m: ModuleBuilder, pieces: Piece[]): string {
  const { edits } = m.ctx;
  const text = m.text;
  let out = "";
  let previous: Statement | null = null;
  for (const p of pieces) {
    if (p.kind === "text") {
      out += `${p.text}\n`;
      previous = null;
      continue;
    }
    // Removed whole (a device move, an alias collapsed into the loop binding).
    if (edits.removes(p.node.getStart(), p.node.getEnd())) continue;
    const start = spanStart(p.node, text);
    const end = spanEnd(p.node, text);
    if (previous && previous.getParent() === p.node.getParent() && /\n[ \t]*\r?\n/.test(text.slice(previous.getEnd(), start))) out += "\n";
    out += `${edits.render(start, end)}\n`;
    previous = p.node;
  }
  return out;
}

/** End of a statement with a comment on the same line after it. */
function spanEnd(s: Node, text: string): number {
  const end = s.getEnd();
  const rest = /^[ \t]*(\/\/[^\n]*|\/\*[^\n]*?\*\/[ \t]*)?/.exec(text.slice(end))!;
  const after = end + rest[0].length;
  return after === text.length || text[after] === "\n" || text[after] === "\r" ? after : end;
}
