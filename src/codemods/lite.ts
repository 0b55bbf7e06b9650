/**
 * `--to lite` (SPEC §3): the transforms in the order they depend on each other. Each lives in
 * its own file under `transforms/lite/` and only adds edits; this file is the whole pipeline.
 */
import type { TransformContext } from "./transforms/context.ts";
import { rewriteBackward } from "./transforms/lite/backward.ts";
import { rewriteCheckpointIo } from "./transforms/lite/checkpoint-io.ts";
import { rewriteClipGradients } from "./transforms/lite/clip-gradients.ts";
import { collapseDeviceAliases } from "./transforms/shared/collapse-aliases.ts";
import { constLoopBindings } from "./transforms/lite/const-loop-bindings.ts";
import { removeDeviceCode } from "./transforms/shared/device/index.ts";
import { updateImports } from "./transforms/lite/imports.ts";
import { LiteAccess } from "./transforms/lite/lite-access.ts";
import { hoistDeclarations, wrapInLiteClass } from "./transforms/lite/lite-class.ts";
import { setupDataloaders } from "./transforms/lite/setup-dataloaders.ts";
import { setupModels } from "./transforms/lite/setup-models.ts";

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
