/**
 * `--to lite` (SPEC §3): the transforms in the order they depend on each other. Each lives in
 * its own file under `transforms/lite/` and only adds edits; this file is the whole pipeline.
 */
import type { TransformContext } from "./transforms/context";
import { rewriteBackward } from "./transforms/lite/backward";
import { rewriteCheckpointIo } from "./transforms/lite/checkpoint-io";
import { rewriteClipGradients } from "./transforms/lite/clip-gradients";
import { collapseDeviceAliases } from "./transforms/shared/collapse-aliases";
import { constLoopBindings } from "./transforms/lite/const-loop-bindings";
import { removeDeviceCode } from "./transforms/shared/device/index";
import { updateImports } from "./transforms/lite/imports";
import { LiteAccess } from "./transforms/lite/lite-access";
import { hoistDeclarations, wrapInLiteClass } from "./transforms/lite/lite-class";
import { setupDataloaders } from "./transforms/lite/setup-dataloaders";
import { setupModels } from "./transforms/lite/setup-models";

export function runLiteTransforms(ctx: TransformContext, className: string): void {
  // Device code first: later transforms ask whether code they would touch is gone.
  removeDeviceCode(ctx);
  collapseDeviceAliases(ctx);
  constLoopBindings(ctx);
  wrapInLiteClass(ctx, className);
  const access = new LiteAccess(ctx);
  setupModels(ctx, access);
  setupDataloaders(ctx, access);
  rewriteBackward(ctx, access);
  rewriteCheckpointIo(ctx, access);
  rewriteClipGradients(ctx, access);
  // Helpers learn that they need the Lite instance from the transforms above.
  access.emit();
  // Last: an import is unused only once every other edit is known.
  updateImports(ctx);
  ctx.todos.emit(ctx.edits);
  // After every edit inside them: class and function declarations stay at top level.
  hoistDeclarations(ctx);
}
