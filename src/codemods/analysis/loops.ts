/**
 * Training loops (the `for...of` over batches that reaches a backward, and the epoch loop around
 * it) and evaluation loops (a loop over a loader with no backward, usually under `noGrad` after
 * `model.eval()`). The lite transform does not need them; `--to module` builds its
 * `trainingStep`, `validationStep` and `testStep` from them.
 */
import type { CallExpression, ForOfStatement, Statement } from "ts-morph";
import { Node, isLoop, unwrap } from "../morph.ts";
import { isFunctionLike, type Owner } from "./functions.ts";
import type { ReferenceIndex } from "./references.ts";
import type { BackwardCall, DataLoaderConstruction, EvalLoop, LocalFunction, TrainingLoop } from "./types.ts";

export function findTrainingLoops(
  backwardCalls: BackwardCall[],
  ownerOf: (node: Node) => Owner,
  functionByNode: Map<Node, LocalFunction>,
): TrainingLoop[] {
  const within = (n: Node, pick: (a: Node) => boolean): Node | null => {
    for (let a = n.getParent(); a; a = a.getParent()) {
      if (pick(a)) return a;
      // Stop at a function boundary (arrows, e.g. a `noGrad(() => ...)` callback, are inside).
      if ((isFunctionLike(a) && !Node.isArrowFunction(a)) || functionByNode.has(a)) return null;
    }
    return null;
  };
  const nearestForOf = (n: Node) => within(n, (a) => Node.isForOfStatement(a)) as ForOfStatement | null;
  const nearestLoop = (n: Node) => within(n, isLoop) as Statement | null;
  /** In the node's function, else around a call of that function (the loop is in the caller). */
  const inOrAround = <T>(n: Node, find: (n: Node) => T | null): T | null => {
    const found = find(n);
    if (found) return found;
    const owner = ownerOf(n);
    return owner.kind === "function" ? (owner.fn.calls.map(find).find((l) => l !== null) ?? null) : null;
  };

  const loops: TrainingLoop[] = [];
  const byBatchLoop = new Map<ForOfStatement, TrainingLoop>();
  for (const b of backwardCalls) {
    const batchLoop = inOrAround(b.call, nearestForOf);
    if (!batchLoop) continue;
    let loop = byBatchLoop.get(batchLoop);
    if (!loop) {
      loop = { batchLoop, epochLoop: inOrAround(batchLoop, nearestLoop), loader: batchLoop.getExpression(), backward: [] };
      byBatchLoop.set(batchLoop, loop);
      loops.push(loop);
    }
    loop.backward.push(b);
  }
  return loops;
}

export interface EvalLoopInput {
  forOfs: ForOfStatement[];
  trainingLoops: TrainingLoop[];
  backwardCalls: BackwardCall[];
  dataloaders: DataLoaderConstruction[];
  noGradCalls: CallExpression[];
  modeCalls: { call: CallExpression; mode: "eval" | "train" }[];
  ownerOf: (node: Node) => Owner;
  refs: ReferenceIndex;
}

export function findEvalLoops(input: EvalLoopInput): EvalLoop[] {
  const { ownerOf, refs } = input;
  const training = new Set<Node>(input.trainingLoops.map((l) => l.batchLoop));
  const loaderDecls = new Set<Node>(input.dataloaders.flatMap((d) => (d.declaration ? [d.declaration] : [])));
  const evalLoops: EvalLoop[] = [];
  for (const loop of input.forOfs) {
    if (training.has(loop)) continue;
    const iterated = unwrap(loop.getExpression());
    const name = Node.isIdentifier(iterated) ? iterated.getText() : Node.isPropertyAccessExpression(iterated) ? iterated.getName() : "";
    const decl = Node.isIdentifier(iterated) ? refs.declarationOf(iterated) : undefined;
    if (!((decl !== undefined && loaderDecls.has(decl)) || /loader/i.test(name))) continue;
    const contains = (n: Node) => loop.getStart() <= n.getStart() && n.getEnd() <= loop.getEnd();
    if (input.backwardCalls.some((b) => contains(b.call))) continue;
    const owner = ownerOf(loop);
    const lastMode = input.modeCalls
      .filter((m) => m.call.getStart() < loop.getStart() && sameOwner(ownerOf(m.call), owner))
      .sort((a, b) => a.call.getStart() - b.call.getStart())
      .pop();
    evalLoops.push({
      loop,
      loader: loop.getExpression(),
      kind: /val/i.test(name) ? "validation" : /test/i.test(name) ? "test" : "eval",
      underNoGrad: input.noGradCalls.some((c) => c.getStart() < loop.getStart() && loop.getEnd() <= c.getEnd()),
      underEvalMode: lastMode?.mode === "eval",
    });
  }
  return evalLoops;
}

function sameOwner(a: Owner, b: Owner): boolean {
  if (a.kind === "function" && b.kind === "function") return a.fn === b.fn;
  if (a.kind === "opaque" && b.kind === "opaque") return a.node === b.node;
  return a.kind === b.kind;
}
