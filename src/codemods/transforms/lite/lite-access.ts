/**
 * How code reaches the Lite instance. Inside `run()` (arrows included) it is `this`. A helper
 * function that needs it (it calls `backward`, builds a DataLoader, saves a checkpoint, or
 * calls another such helper) gets it as a first parameter, the way Fabric's docs pass `fabric`:
 *
 *   function trainEpoch(lite: LightningLite, model: Net, ...) { ... lite.backward(loss); ... }
 *   trainEpoch(this, model, ...);                 // from run()
 *   trainEpoch(lite, model, ...);                 // from another helper
 *
 * Code that cannot be reached this way (a class method, a `function` callback with its own
 * `this`, a helper passed around as a value) gets a TODO instead.
 */
import { Node, SyntaxKind } from "../../morph.ts";
import type { CallExpression, ClassDeclaration, ConstructorDeclaration, NewExpression } from "ts-morph";
import { endOfLineAfter, indentationAt, lineStartOf, newlineOf } from "../shared/ranges.ts";
import { constructionsOf, enclosingInstanceClass, trainerClasses } from "./trainer-class.ts";
import { declarationsInRun, mainGuard } from "./lite-class.ts";
import { isFunctionLike } from "../../analysis/functions.ts";
import type { LocalFunction } from "../../analysis/types.ts";
import type { TransformContext } from "../context.ts";

export type Access = { ok: true; receiver: string } | { ok: false; reason: string };

interface Threaded {
  fn: LocalFunction;
  param: string;
  /** Call sites with the receiver each passes. */
  calls: { call: CallExpression; receiver: string }[];
}

interface ThreadedClass {
  cls: ClassDeclaration;
  /** null: the class has none, and gets `constructor(lite) { this.lite = lite; }`. */
  ctor: ConstructorDeclaration | null;
  field: string;
  constructions: { construction: NewExpression; receiver: string }[];
}

export const LITE_TYPE = "LightningLite";

export class LiteAccess {
  private readonly byNode: Map<Node, LocalFunction>;
  private readonly memo = new Map<LocalFunction, Access | "pending">();
  private readonly threaded = new Map<LocalFunction, Threaded>();
  private readonly entryNode: Node | null;
  private readonly scriptRange: { start: number; end: number } | null;
  private readonly trainers: Set<ClassDeclaration>;
  private readonly classMemo = new Map<ClassDeclaration, Access | "pending">();
  private readonly threadedClasses = new Map<ClassDeclaration, ThreadedClass>();

  constructor(private readonly ctx: TransformContext) {
    const { analysis } = ctx;
    this.byNode = new Map(analysis.functions.map((f) => [f.node as Node, f]));
    this.trainers = new Set(trainerClasses(analysis));
    const entry = analysis.entry;
    this.entryNode = entry?.kind === "function" ? entry.fn.node : null;
    this.scriptRange =
      entry?.kind === "script"
        ? { start: entry.statements[0]!.getStart(), end: entry.statements[entry.statements.length - 1]!.getEnd() }
        : null;
  }

  /** What to write for the Lite instance at `node` (`this` or a helper's parameter). */
  receiverAt(node: Node): Access {
    let outermostArrow: LocalFunction | null = null;
    for (let a = node.getParent(); a; a = a.getParent()) {
      if (a === this.entryNode) return { ok: true, receiver: "this" };
      if (Node.isArrowFunction(a)) {
        const fn = this.byNode.get(a);
        if (fn) outermostArrow = fn;
        continue;
      }
      if (Node.isSourceFile(a)) {
        if (this.scriptRange && this.scriptRange.start <= node.getStart() && node.getEnd() <= this.scriptRange.end) {
          return { ok: true, receiver: "this" };
        }
        if (outermostArrow) return this.helper(outermostArrow);
        return { ok: false, reason: "it is outside the training code, where no Lite instance exists" };
      }
      if (isFunctionLike(a)) {
        const fn = this.byNode.get(a);
        if (fn) return this.helper(fn);
        if (Node.isFunctionExpression(a) || Node.isFunctionDeclaration(a)) {
          return {
            ok: false,
            reason: "it is inside an anonymous `function`, which has its own `this`; make it an arrow function",
          };
        }
        const trainer = enclosingInstanceClass(node);
        if (trainer && trainer === a.getParent() && this.trainers.has(trainer)) return this.trainer(trainer);
        const cls = a.getFirstAncestor((c) => Node.isClassDeclaration(c) || Node.isClassExpression(c));
        const name = cls && (Node.isClassDeclaration(cls) || Node.isClassExpression(cls)) ? cls.getName() : undefined;
        return {
          ok: false,
          reason: `it is inside a method of class ${name ?? "(anonymous)"}; pass the Lite instance to it`,
        };
      }
    }
    return { ok: false, reason: "it is outside the training code" };
  }

  /** True when `node` runs directly in run() (where the Lite instance is `this`); threads nothing. */
  isInRun(node: Node): boolean {
    for (let a = node.getParent(); a; a = a.getParent()) {
      if (a === this.entryNode) return true;
      if (Node.isArrowFunction(a)) continue;
      if (Node.isSourceFile(a)) {
        return (
          this.scriptRange !== null &&
          this.scriptRange.start <= node.getStart() &&
          node.getEnd() <= this.scriptRange.end
        );
      }
      if (isFunctionLike(a)) return false;
    }
    return false;
  }

  /**
   * A trainer class (trainer-class.ts) holds the Lite instance in a field set by its
   * constructor, which every `new Trainer(...)` passes it to: `this.lite` in its methods.
   */
  private trainer(cls: ClassDeclaration): Access {
    const known = this.classMemo.get(cls);
    if (known === "pending") return { ok: true, receiver: `this.${this.threadedClasses.get(cls)!.field}` };
    if (known) return known;
    const fail = (reason: string): Access => {
      const result: Access = { ok: false, reason };
      this.threadedClasses.delete(cls);
      this.classMemo.set(cls, result);
      return result;
    };
    const ctor = cls.getConstructors().find((c) => c.getBody() !== undefined) ?? null;
    // Without a constructor one is added; a subclass's would have to pass its arguments on.
    if (!ctor && (cls.getExtends() || cls.getConstructors().length > 0)) {
      return fail(`class ${cls.getName()} has no constructor to take the Lite instance; pass it to the class`);
    }
    const constructions = constructionsOf(this.ctx.analysis, cls);
    if (constructions.length === 0)
      return fail(`class ${cls.getName()} is never constructed here; pass the Lite instance to it`);
    const used = new Set(
      cls.getMembers().flatMap((m) => ("getName" in m && typeof m.getName === "function" ? [String(m.getName())] : [])),
    );
    let field = "lite";
    for (let i = 2; used.has(field); i++) field = `lite${i}`;
    const threaded: ThreadedClass = { cls, ctor, field, constructions: [] };
    this.threadedClasses.set(cls, threaded);
    this.classMemo.set(cls, "pending");
    for (const construction of constructions) {
      const access = this.receiverAt(construction);
      if (!access.ok)
        return fail(`new ${cls.getName()}(...) is called where ${access.reason.replace(/^it is/, "the call is")}`);
      threaded.constructions.push({ construction, receiver: access.receiver });
    }
    const result: Access = { ok: true, receiver: `this.${field}` };
    this.classMemo.set(cls, result);
    return result;
  }

  private helper(fn: LocalFunction): Access {
    const known = this.memo.get(fn);
    if (known === "pending") return { ok: true, receiver: this.threaded.get(fn)!.param };
    if (known) return known;
    if (fn.otherReferences.length > 0) {
      // A function of run()'s own (a callback it hands out, minGPT's batchEndCallback) closes over
      // run()'s scope: it reaches the instance through `const lite = this;` at run()'s top.
      const result: Access = this.staysInRun(fn)
        ? { ok: true, receiver: this.closureName() }
        : { ok: false, reason: `${fn.name}() is used as a value, so the Lite instance cannot be passed to it` };
      this.memo.set(fn, result);
      return result;
    }
    const threaded: Threaded = { fn, param: this.freshName(fn), calls: [] };
    this.threaded.set(fn, threaded);
    this.memo.set(fn, "pending");
    for (const call of fn.calls) {
      const access = this.receiverAt(call);
      if (!access.ok) {
        this.threaded.delete(fn);
        const result: Access = {
          ok: false,
          reason: `${fn.name}() is called where ${access.reason.replace(/^it is/, "the call is")}`,
        };
        this.memo.set(fn, result);
        return result;
      }
      threaded.calls.push({ call, receiver: access.receiver });
    }
    const result: Access = { ok: true, receiver: threaded.param };
    this.memo.set(fn, result);
    return result;
  }

  /** Whether a function of the training code stays in run() (lite-class.ts `declarationsInRun`; main()'s own functions always do). */
  private staysInRun(fn: LocalFunction): boolean {
    const entry = this.ctx.analysis.entry;
    if (!Node.isFunctionDeclaration(fn.node) || !entry) return false;
    if (entry.kind === "function") return fn.node.getFirstAncestor((a) => a === entry.fn.node) !== undefined;
    return !mainGuard(entry.statements) && declarationsInRun(this.ctx).stays.has(fn.node);
  }

  /** The name run()'s own functions reach the instance by (`const lite = this;`, written once by emit). */
  private closureName(): string {
    if (this.closure === null) {
      const taken = (name: string) => this.ctx.analysis.references.identifiersNamed(name).length > 0;
      let name = "lite";
      for (let i = 2; taken(name); i++) name = `lite${i}`;
      this.closure = name;
    }
    return this.closure;
  }

  private closure: string | null = null;

  /** Adds the parameter to every helper that needs it and the argument to every call. */
  emit(): void {
    this.emitClasses();
    const { edits } = this.ctx;
    if (this.closure !== null) {
      const entry = this.ctx.analysis.entry!;
      // (after `override async run() {`, which lite-class.ts inserts at the line's start)
      const at =
        entry.kind === "script"
          ? lineStartOf(entry.statements[0]!.getStart(), this.ctx.analysis.text)
          : (entry.fn.node.getBody() as Node).getFirstChildByKindOrThrow(SyntaxKind.OpenBraceToken).getEnd();
      edits.insert(at, entry.kind === "script" ? `const ${this.closure} = this;\n` : `\nconst ${this.closure} = this;`, "lite-closure", 1);
      this.ctx.notes.push(`run()'s own functions passed as values reach the Lite instance as \`${this.closure}\` (const ${this.closure} = this)`);
    }
    for (const { fn, param, calls } of this.threaded.values()) {
      const params = fn.node.getParameters();
      const kept = params.filter((p) => !edits.covers(p.getStart(), p.getEnd())).length;
      const open = fn.node.getFirstChildByKind(SyntaxKind.OpenParenToken);
      const declared = `${param}: ${LITE_TYPE}`;
      if (open) {
        edits.insert(open.getEnd(), kept > 0 ? `${declared}, ` : declared, "lite-parameter");
      } else {
        // `x => ...`: the single parameter needs parentheses now.
        const only = params[0]!;
        edits.insert(only.getStart(), `(${declared}, `, "lite-parameter");
        edits.insert(only.getEnd(), ")", "lite-parameter");
      }
      for (const { call, receiver } of calls) {
        const args = call.getArguments();
        const keptArgs = args.filter((a) => !edits.covers(a.getStart(), a.getEnd())).length;
        const callOpen = call.getFirstChildByKind(SyntaxKind.OpenParenToken)!;
        edits.insert(callOpen.getEnd(), keptArgs > 0 ? `${receiver}, ` : receiver, "lite-argument");
      }
      this.ctx.counts.helpersGivenLite++;
      this.ctx.notes.push(
        `${fn.name}() (line ${this.ctx.lineOf(fn.node.getStart())}) takes the Lite instance as its first parameter \`${param}\``,
      );
    }
  }

  private emitClasses(): void {
    const { edits, analysis } = this.ctx;
    const text = analysis.text;
    const nl = newlineOf(text);
    for (const { cls, ctor, field, constructions } of this.threadedClasses.values()) {
      if (!ctor) {
        const brace = cls.getFirstChildByKindOrThrow(SyntaxKind.OpenBraceToken);
        edits.insert(
          brace.getEnd(),
          `${nl}${field}: ${LITE_TYPE};${nl}${nl}constructor(${field}: ${LITE_TYPE}) {${nl}this.${field} = ${field};${nl}}${nl}`,
          "lite-field",
        );
      } else {
        // The field, first among the instance fields (before the constructor when there are none).
        const firstField = cls.getProperties().find((p) => !p.isStatic());
        const before = firstField ?? ctor;
        const at = lineStartOf(before.getStart(true), text);
        edits.insert(at, `${indentationAt(before.getStart(), text)}${field}: ${LITE_TYPE};${nl}`, "lite-field");
        // The constructor takes it first and stores it (after super(...), where there is one).
        const open = ctor.getFirstChildByKindOrThrow(SyntaxKind.OpenParenToken);
        const kept = ctor.getParameters().filter((p) => !edits.covers(p.getStart(), p.getEnd())).length;
        edits.insert(open.getEnd(), kept > 0 ? `${field}: ${LITE_TYPE}, ` : `${field}: ${LITE_TYPE}`, "lite-parameter");
        const body = ctor.getBody()!;
        const first = Node.isBlock(body) ? body.getStatements()[0] : undefined;
        const isSuper = (s: Node | undefined) =>
          !!s &&
          Node.isExpressionStatement(s) &&
          Node.isCallExpression(s.getExpression()) &&
          s.getExpression().getFirstChild()?.getKind() === SyntaxKind.SuperKeyword;
        if (first && isSuper(first)) {
          edits.insert(
            endOfLineAfter(first.getEnd(), text),
            `${nl}${indentationAt(first.getStart(), text)}this.${field} = ${field};`,
            "lite-field",
          );
        } else {
          const brace = body.getFirstChildByKindOrThrow(SyntaxKind.OpenBraceToken);
          edits.insert(brace.getEnd(), `${nl}this.${field} = ${field};`, "lite-field");
        }
      }
      for (const { construction, receiver } of constructions) {
        const callOpen = construction.getFirstChildByKind(SyntaxKind.OpenParenToken);
        if (!callOpen) {
          edits.insert(construction.getEnd(), `(${receiver})`, "lite-argument");
          continue;
        }
        const keptArgs = (construction.getArguments() ?? []).filter(
          (a) => !edits.covers(a.getStart(), a.getEnd()),
        ).length;
        edits.insert(callOpen.getEnd(), keptArgs > 0 ? `${receiver}, ` : receiver, "lite-argument");
      }
      this.ctx.notes.push(
        `class ${cls.getName()} (line ${this.ctx.lineOf(cls.getStart())}) holds the Lite instance in \`this.${field}\`, passed to its constructor`,
      );
    }
  }

  /** `lite`, unless the function already uses that name. */
  private freshName(fn: LocalFunction): string {
    const start = fn.node.getStart();
    const end = fn.node.getEnd();
    const usedInside = (name: string) =>
      this.ctx.analysis.references.identifiersNamed(name).some((i) => i.getStart() >= start && i.getEnd() <= end);
    if (!usedInside("lite")) return "lite";
    for (let i = 2; ; i++) if (!usedInside(`lite${i}`)) return `lite${i}`;
  }
}
