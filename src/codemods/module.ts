/**
 * `--to module` (SPEC §4): the transforms in the order they depend on each other. Each concept
 * lives in its own file under `transforms/module/`; they decide where the script's statements go
 * (`ModuleBuilder.place`) and edit them in place, and `module-class.ts` renders the class from
 * the placed statements at the end. This file is the whole pipeline: what one step produces for
 * a later one is passed on here; what many steps share lives on the builder (each field there
 * says which files write it and which read it).
 *
 * What the codemod cannot express as a LightningModule throws `CannotMap`; `migrate.ts` then
 * leaves the script as it is, with a TODO at that construct.
 */
import type { TransformContext } from "./transforms/context.ts";
import { buildConfigureOptimizers, finishConfigureOptimizers } from "./transforms/module/configure-optimizers.ts";
import { ModuleBuilder } from "./transforms/module/builder.ts";
import { placeData, placeEpochIterable } from "./transforms/module/dataloaders.ts";
import { placeCodeAfterTraining, placeCodeBeforeTraining, placeConfiguration } from "./transforms/module/entry-code.ts";
import { placeEpochCode } from "./transforms/module/epoch-hooks.ts";
import { buildEvalSteps } from "./transforms/module/eval-steps.ts";
import { makeFields } from "./transforms/module/fields.ts";
import { placeHelperMethods } from "./transforms/module/helper-methods.ts";
import { inlineHelpers } from "./transforms/module/inline-helpers.ts";
import { writeModuleClass } from "./transforms/module/module-class.ts";
import { moveModels, placeModelSurgery } from "./transforms/module/models.ts";
import { entryRewrites, rewriteUses } from "./transforms/module/rewrite-uses.ts";
import { findStructure } from "./transforms/module/structure.ts";
import { buildTrainingStep } from "./transforms/module/training-step.ts";
import { planTrainer } from "./transforms/module/trainer.ts";
import { collapseDeviceAliases } from "./transforms/shared/collapse-aliases.ts";
import { removeDeviceCode } from "./transforms/shared/device/index.ts";

export interface ModuleOutcome {
  /** Names to import from `lightning-ts`, and whether `tf` is needed for parameter types. */
  runtimeImports: string[];
  needsTf: boolean;
  /**
   * How many times larger the migrated script's loss trace is than the plain one's: K when the
   * script divided its loss by K for accumulation (SPEC §6 traces the Trainer's loss before its
   * own division), else 1. `--verify` compares with it.
   */
  traceScale: number;
  /** Manual optimisation: trainingStep zeroes, backpropagates and steps itself. */
  manual: boolean;
}

export function runModuleTransforms(ctx: TransformContext, className: string): ModuleOutcome {
  // Device code first: the rest asks whether code it would move is gone.
  removeDeviceCode(ctx);
  collapseDeviceAliases(ctx);
  const structure = findStructure(ctx.analysis);
  const m = new ModuleBuilder(ctx, structure, className);
  m.config.placeAll();

  moveModels(m);
  placeModelSurgery(m);
  const resumedEpochStart = entryRewrites(m);
  planTrainer(m, resumedEpochStart);
  const training = buildTrainingStep(m);
  const optimizerStatements = buildConfigureOptimizers(m, training);
  buildEvalSteps(m);
  placeEpochIterable(m);
  placeEpochCode(m, training);
  placeCodeAfterTraining(m);
  placeConfiguration(m);
  const sharedData = placeData(m);
  placeCodeBeforeTraining(m);
  finishConfigureOptimizers(m, training, optimizerStatements);
  m.config.copyIntoMethods();
  placeHelperMethods(m);

  makeFields(m, resumedEpochStart ? [resumedEpochStart.declaration] : []);
  rewriteUses(m, training);
  inlineHelpers(m);
  // Markers go in before the class is rendered, so that they move with their statements.
  ctx.todos.emit(ctx.edits);
  writeModuleClass(m, training, sharedData);
  const k = training.removedLossDivision ? Number(m.probe.resolve(training.removedLossDivision)) : 1;
  return {
    runtimeImports: [...m.runtimeImports],
    // Every module has a trainingStep, whose destructured batch is typed `[tf.Tensor, ...]`.
    needsTf: true,
    traceScale: Number.isInteger(k) && k > 0 ? k : 1,
    manual: training.manual,
  };
}
