/**
 * `--to module` (SPEC §4): the transforms in the order they depend on each other. Each concept
 * lives in its own file under `transforms/module/`; they decide where the script's statements go
 * (`ModuleBuilder.place`) and edit them in place, and `module-class.ts` renders the class from
 * the placed statements at the end. This file is the whole pipeline.
 *
 * What the codemod cannot express as a LightningModule throws `CannotMap`; `migrate.ts` then
 * leaves the script as it is, with a TODO at that construct.
 */
import type { TransformContext } from "./transforms/context";
import { buildConfigureOptimizers, finishConfigureOptimizers } from "./transforms/module/configure-optimizers";
import { ModuleBuilder } from "./transforms/module/builder";
import { CallSite } from "./transforms/module/call-site";
import { ConfigConstants } from "./transforms/module/config";
import { placeData } from "./transforms/module/dataloaders";
import { placeCodeAfterTraining, placeCodeBeforeTraining } from "./transforms/module/entry-code";
import { placeEpochCode } from "./transforms/module/epoch-hooks";
import { buildEvalSteps } from "./transforms/module/eval-steps";
import { makeFields } from "./transforms/module/fields";
import { inlineHelpers } from "./transforms/module/helpers";
import { writeModuleClass } from "./transforms/module/module-class";
import { moveModels } from "./transforms/module/models";
import { entryRewrites, rewriteReferences } from "./transforms/module/references";
import { findStructure } from "./transforms/module/structure";
import { buildTrainingStep } from "./transforms/module/training-step";
import { planTrainer } from "./transforms/module/trainer";
import { collapseDeviceAliases } from "./transforms/shared/collapse-aliases";
import { removeDeviceCode } from "./transforms/shared/device/index";

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
}

export function runModuleTransforms(ctx: TransformContext, className: string): ModuleOutcome {
  // Device code first: the rest asks whether code it would move is gone.
  removeDeviceCode(ctx);
  collapseDeviceAliases(ctx);
  const structure = findStructure(ctx.analysis);
  const m = new ModuleBuilder(ctx, structure, className);
  m.tfName = tfName(ctx);
  m.config = new ConfigConstants(m);
  m.config.placeAll();
  m.probe = new CallSite(m, structure.entry.calls[0] ?? null);

  moveModels(m);
  entryRewrites(m);
  planTrainer(m);
  buildTrainingStep(m);
  buildConfigureOptimizers(m);
  buildEvalSteps(m);
  placeEpochCode(m);
  placeCodeAfterTraining(m);
  placeData(m);
  placeCodeBeforeTraining(m);
  finishConfigureOptimizers(m);
  m.config.copyIntoMethods();

  makeFields(m);
  rewriteReferences(m);
  inlineHelpers(m);
  // Markers go in before the class is rendered, so that they move with their statements.
  ctx.todos.emit(ctx.edits);
  writeModuleClass(m);
  const k = m.removedLossDivision ? Number(m.probe.resolve(m.removedLossDivision)) : 1;
  return {
    runtimeImports: ["LightningModule", "Trainer"],
    needsTf: m.stepBinding !== null || m.evalLoops.size > 0,
    traceScale: Number.isInteger(k) && k > 0 ? k : 1,
  };
}

/** How the script names tf: `tf`, its alias, or `torch.tf` through a namespace import. */
function tfName(ctx: TransformContext): string {
  const torch = ctx.analysis.torchImport;
  if (!torch) return "tf";
  for (const [local, exported] of torch.named) if (exported === "tf") return local;
  return torch.namespaces[0] ? `${torch.namespaces[0]}.tf` : "tf";
}
