/**
 * The Trainer's callback list (Lightning's `_CallbackConnector`): the user's callbacks plus the
 * defaults the flags ask for, the module's `configureCallbacks()` merged in at the start of each
 * run (replacing Trainer callbacks of the same class), and checkpoint callbacks moved last so
 * they see everything the other callbacks did first.
 */
import { Callback, Checkpoint } from "../../callbacks/callback";
import { MisconfigurationError } from "../../errors";
import { rankZeroInfo } from "../messages";
import { callModuleHook } from "../call";
import type { Trainer } from "../trainer";
import { describeValue } from "../../utilities/describe";
import { defaultCallbacks } from "./default_callbacks";

export class CallbackConnector {
  constructor(private readonly trainer: Trainer) {}

  onTrainerInit(
    callbacks: Callback | Callback[] | null | undefined,
    flags: { enableCheckpointing: boolean; enableProgressBar: boolean; enableModelSummary: boolean },
  ): Callback[] {
    const list: Callback[] = callbacks === null || callbacks === undefined ? [] : Array.isArray(callbacks) ? [...callbacks] : [callbacks];
    list.forEach((cb, i) => {
      if (!(cb instanceof Callback)) {
        throw new TypeError(`callbacks[${i}] must be a Callback (extend \`Callback\`), got ${describeValue(cb)}`);
      }
    });
    // Checkpointing.
    const checkpoints = list.filter((c) => c instanceof Checkpoint);
    if (checkpoints.length > 0) {
      if (!flags.enableCheckpointing) {
        throw new MisconfigurationError("Trainer was configured with `enableCheckpointing=false` but found `ModelCheckpoint` in callbacks list.");
      }
    } else if (flags.enableCheckpointing) {
      list.push(defaultCallbacks.modelCheckpoint());
    }
    // Progress bar.
    const bars = list.filter((c) => defaultCallbacks.isProgressBar(c));
    if (bars.length > 1) {
      throw new MisconfigurationError("You added multiple progress bar callbacks to the Trainer, but currently only one progress bar is supported.");
    }
    if (bars.length === 1) {
      if (!flags.enableProgressBar) {
        throw new MisconfigurationError(
          `Trainer was configured with \`enableProgressBar=false\` but found \`${bars[0].constructor.name}\` in callbacks list.`,
        );
      }
    } else if (flags.enableProgressBar) {
      const bar = defaultCallbacks.progressBar();
      if (bar !== null) list.push(bar);
    }
    // Model summary.
    if (flags.enableModelSummary && !list.some((c) => defaultCallbacks.isModelSummary(c))) {
      const summary = defaultCallbacks.modelSummary();
      if (summary !== null) list.push(summary);
    }
    return reorderCallbacks(list);
  }

  /** Merges the module's `configureCallbacks()` into the Trainer's callbacks. */
  async attachModelCallbacks(): Promise<void> {
    const trainer = this.trainer;
    const raw = await callModuleHook<Callback | Callback[] | null | undefined>(trainer, "configureCallbacks");
    const modelCallbacks = raw === null || raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    if (modelCallbacks.length === 0) return;
    modelCallbacks.forEach((cb, i) => {
      if (!(cb instanceof Callback)) {
        throw new TypeError(`configureCallbacks() returned ${describeValue(cb)} at index ${i}: expected Callback instances`);
      }
    });
    const modelTypes = new Set(modelCallbacks.map((c) => c.constructor));
    const trainerTypes = new Set(trainer.callbacks.map((c) => c.constructor));
    const overridden = [...modelTypes].filter((t) => trainerTypes.has(t));
    // A checkpoint callback from the model replaces every checkpoint callback of the Trainer.
    const replacesCheckpoints = modelCallbacks.some((c) => c instanceof Checkpoint);
    const kept = trainer.callbacks.filter((c) => !modelTypes.has(c.constructor) && !(replacesCheckpoints && c instanceof Checkpoint));
    if (overridden.length > 0) {
      rankZeroInfo(
        "The following callbacks returned in `LightningModule.configureCallbacks()` will override existing callbacks passed to Trainer: " +
          overridden.map((t) => t.name).sort().join(", "),
        trainer,
      );
    }
    trainer.callbacks = reorderCallbacks([...kept, ...modelCallbacks]);
  }
}

/** Checkpoint callbacks last, the rest in their given order (Lightning's `_reorder_callbacks`). */
export function reorderCallbacks(callbacks: Callback[]): Callback[] {
  return [...callbacks.filter((c) => !(c instanceof Checkpoint)), ...callbacks.filter((c) => c instanceof Checkpoint)];
}
