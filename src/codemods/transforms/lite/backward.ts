/**
 * `loss.backward()` → `this.backward(loss)` (`lite.backward(loss)` in a helper), for any loss
 * expression: `F.mseLoss(out, y).backward()` → `this.backward(F.mseLoss(out, y))`, options
 * included (`{ retainGraph, gradient }`). Lite's backward applies the precision plugin's loss
 * scaling and the strategy's gradient sync.
 *
 * Two insertions around the loss rather than one rewrite of the call, so that edits inside the
 * loss expression (a stripped `.to(device)`) still apply.
 */
import { Node } from "../../morph.ts";
import type { TransformContext } from "../context.ts";
import type { LiteAccess } from "./lite-access.ts";

/** Options of `loss.backward(opts)` that `this.backward(loss, opts)` takes too. */
const LITE_BACKWARD_OPTIONS = new Set(["retainGraph", "gradient"]);

/** Why `opts` cannot be handed to Lite's backward, or null. */
function unsupportedOptions(args: Node[]): string | null {
  if (args.length > 1) return "backward() with more than one argument";
  const opts = args[0];
  if (!opts || !Node.isObjectLiteralExpression(opts)) return null;
  for (const p of opts.getProperties()) {
    if (Node.isSpreadAssignment(p)) return "backward() options with a spread";
    const name = (p as Node & { getName?: () => string }).getName?.();
    if (!name || !LITE_BACKWARD_OPTIONS.has(name)) return `backward() option '${name ?? p.getText()}'`;
  }
  return null;
}

export function rewriteBackward(ctx: TransformContext, access: LiteAccess): void {
  const { analysis, edits, todos } = ctx;
  for (const b of analysis.backwardCalls) {
    if (edits.covers(b.call.getStart(), b.call.getEnd())) continue;
    const unsupported = unsupportedOptions(b.extraArguments);
    if (unsupported) {
      todos.add(b.call, `${unsupported} is not converted; Lite's backward(loss, { retainGraph, gradient }) takes no other`);
      continue;
    }
    const a = access.receiverAt(b.call);
    if (!a.ok) {
      todos.add(b.call, `use lite.backward(loss) here: ${a.reason}`);
      continue;
    }
    if (b.form === "method") {
      const [opts] = b.extraArguments;
      edits.insert(b.loss.getStart(), `${a.receiver}.backward(`, "backward");
      if (opts) {
        // `loss.backward({ retainGraph: true })` → `this.backward(loss, { retainGraph: true })`
        edits.replace(b.loss.getEnd(), opts.getStart(), ", ", "backward");
        edits.replace(opts.getEnd(), b.call.getEnd(), ")", "backward");
      } else {
        edits.replace(b.loss.getEnd(), b.call.getEnd(), ")", "backward");
      }
    } else {
      const callee = b.call.getExpression();
      edits.replace(callee.getStart(), callee.getEnd(), `${a.receiver}.backward`, "backward");
    }
    ctx.counts.backwardRewritten++;
  }
}
