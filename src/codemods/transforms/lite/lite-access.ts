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
import { Node, SyntaxKind } from "../../morph";
import type { CallExpression } from "ts-morph";
import { isFunctionLike } from "../../analysis/functions";
import type { LocalFunction } from "../../analysis/types";
import type { TransformContext } from "../context";

export type Access = { ok: true; receiver: string } | { ok: false; reason: string };

interface Threaded {
  fn: LocalFunction;
  param: string;
  /** Call sites with the receiver each passes. */
  calls: { call: CallExpression; receiver: string }[];
}

export const LITE_TYPE = "LightningLite";

export class LiteAccess {
  private readonly byNode: Map<Node, LocalFunction>;
  private readonly memo = new Map<LocalFunction, Access | "pending">();
  private readonly threaded = new Map<LocalFunction, Threaded>();
  private readonly entryNode: Node | null;
  private readonly scriptRange: { start: number; end: number } | null;

  constructor(private readonly ctx: TransformContext) {
    const { analysis } = ctx;
    this.byNode = new Map(analysis.functions.map((f) => [f.node as Node, f]));
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
          return { ok: false, reason: "it is inside an anonymous `function`, which has its own `this`; make it an arrow function" };
        }
        const cls = a.getFirstAncestor((c) => Node.isClassDeclaration(c) || Node.isClassExpression(c));
        const name = cls && (Node.isClassDeclaration(cls) || Node.isClassExpression(cls)) ? cls.getName() : undefined;
        return { ok: false, reason: `it is inside a method of class ${name ?? "(anonymous)"}; pass the Lite instance to it` };
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
        return this.scriptRange !== null && this.scriptRange.start <= node.getStart() && node.getEnd() <= this.scriptRange.end;
      }
      if (isFunctionLike(a)) return false;
    }
    return false;
  }

  private helper(fn: LocalFunction): Access {
    const known = this.memo.get(fn);
    if (known === "pending") return { ok: true, receiver: this.threaded.get(fn)!.param };
    if (known) return known;
    if (fn.otherReferences.length > 0) {
      const result: Access = { ok: false, reason: `${fn.name}() is used as a value, so the Lite instance cannot be passed to it` };
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
        const result: Access = { ok: false, reason: `${fn.name}() is called where ${access.reason.replace(/^it is/, "the call is")}` };
        this.memo.set(fn, result);
        return result;
      }
      threaded.calls.push({ call, receiver: access.receiver });
    }
    const result: Access = { ok: true, receiver: threaded.param };
    this.memo.set(fn, result);
    return result;
  }

  /** Adds the parameter to every helper that needs it and the argument to every call. */
  emit(): void {
    const { edits } = this.ctx;
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


