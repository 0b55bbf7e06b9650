/**
 * Device code removal, in dependency order and to a fixpoint (see `plan.ts`): strip the moves,
 * then repeatedly remove device-only `if`s, unread device variables and unread `device`
 * parameters until nothing more goes.
 */
import type { Node } from "ts-morph";
import type { TransformContext } from "../../context.ts";
import { RemovalPlan } from "./plan.ts";
import { removeDeviceConditionals } from "./remove-conditionals.ts";
import { removeDeviceParameters } from "./remove-parameters.ts";
import { removeDeadDeviceVariables } from "./remove-variables.ts";
import { stripDeviceMoves } from "./strip-moves.ts";

export function removeDeviceCode(ctx: TransformContext): void {
  const plan = new RemovalPlan(ctx.edits);
  stripDeviceMoves(ctx, plan);
  const removedVariables = new Set<Node>();
  let conditionals = 0;
  let variables = 0;
  let parameters = 0;
  for (;;) {
    const c = removeDeviceConditionals(ctx, plan, removedVariables);
    const v = removeDeadDeviceVariables(ctx, plan, removedVariables);
    const p = removeDeviceParameters(ctx, plan);
    conditionals += c;
    variables += v;
    parameters += p;
    if (c + v + p === 0) break;
  }
  plan.emit(ctx.analysis.text);
  const { counts, edits } = ctx;
  counts.deviceConditionalsRemoved += conditionals;
  counts.deviceVariablesRemoved += variables;
  counts.deviceParametersRemoved += parameters;
  counts.deviceMovesStripped += ctx.analysis.deviceMoves.filter(
    (m) => m.recognized && edits.covers(m.receiver.getEnd(), m.call.getEnd()),
  ).length;
}
