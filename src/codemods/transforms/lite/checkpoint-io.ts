/**
 * `save(obj, path)` / `load(path)` from `lightning-ts/torch` → `this.save(obj, path)` /
 * `this.load(path)`: Lite writes on rank 0 only and makes the other ranks wait.
 *
 * `saveSync(obj, path)` / `loadSync(path)` become `await this.save(obj, path)` /
 * `(await this.load(path))` where the code can await (an async function), and Lite's synchronous
 * `this.saveSync(...)` / `this.loadSync(...)` where it cannot (a callback, a synchronous method).
 */
import { Node } from "../../morph.ts";
import { isFunctionLike } from "../../analysis/functions.ts";
import type { TransformContext } from "../context.ts";
import type { LiteAccess } from "./lite-access.ts";

export function rewriteCheckpointIo(ctx: TransformContext, access: LiteAccess): void {
  const { analysis, edits, todos } = ctx;
  for (const { call, kind, sync } of analysis.checkpointCalls) {
    if (edits.covers(call.getStart(), call.getEnd())) continue;
    const name = `${kind}${sync ? "Sync" : ""}`;
    // (where the code cannot await, Lite's synchronous save/load: rank 0 writes, every rank waits)
    const awaitable = !sync || inAsyncFunction(call, access);
    const a = access.receiverAt(call);
    if (!a.ok) {
      todos.add(call, `use lite.${kind}(...) here so that only rank 0 writes the file: ${a.reason}`);
      continue;
    }
    const callee = call.getExpression();
    if (!sync) {
      edits.replace(callee.getStart(), callee.getEnd(), `${a.receiver}.${kind}`, "checkpoint");
    } else if (!awaitable) {
      edits.replace(callee.getStart(), callee.getEnd(), `${a.receiver}.${name}`, "checkpoint");
    } else if (kind === "save") {
      edits.replace(callee.getStart(), callee.getEnd(), `await ${a.receiver}.save`, "checkpoint");
    } else {
      // Parentheses so that `loadSync(p).model` becomes `(await this.load(p)).model`;
      // prettier drops them where they are not needed.
      edits.replace(callee.getStart(), callee.getEnd(), `(await ${a.receiver}.load`, "checkpoint");
      edits.insert(call.getEnd(), ")", "checkpoint");
    }
    ctx.counts.checkpointCallsRewritten++;
  }
}

/** True where `await` may be written: in an async function, or in top-level code that becomes `async run()`. */
function inAsyncFunction(node: Node, access: LiteAccess): boolean {
  const fn = node.getFirstAncestor(isFunctionLike);
  if (fn === undefined) return access.isInRun(node);
  return (Node.isFunctionDeclaration(fn) || Node.isFunctionExpression(fn) || Node.isArrowFunction(fn) || Node.isMethodDeclaration(fn)) && fn.isAsync();
}
