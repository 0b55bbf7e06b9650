/**
 * The Trainer's callback list (Lightning's `_CallbackConnector`): the user's callbacks plus the
 * defaults the flags ask for — `ModelCheckpoint` (`enableCheckpointing`), `TQDMProgressBar`
 * (`enableProgressBar`) and `ModelSummary` (`enableModelSummary`) unless a callback already plays
 * that role — the module's `configureCallbacks()` merged in at the start of each run (replacing
 * Trainer callbacks of the same class), and checkpoint callbacks moved last so they see
 * everything the other callbacks did first.
 */
import { Callback, Checkpoint } from "../../callbacks/callback.ts";
import { ModelCheckpoint } from "../../callbacks/model_checkpoint.ts";
import { ModelSummary } from "../../callbacks/model_summary.ts";
import { ProgressBar } from "../../callbacks/progress/progress_bar.ts";
import { TQDMProgressBar } from "../../callbacks/progress/tqdm_progress.ts";
import { MisconfigurationError } from "../../errors.ts";
import { rankZeroInfo } from "../../utilities/rank_zero.ts";
import { describeValue } from "../../utilities/describe.ts";
import { callModuleHook } from "../call.ts";
import type { TrainerOptions } from "../options.ts";
import type { TrainerFlags } from "../setup.ts";
import type { Trainer } from "../trainer.ts";

export class CallbackConnector {
  constructor(private readonly trainer: Trainer) {}

  /** `callbacks` and the `enable*` flags (Lightning's `_CallbackConnector.on_trainer_init`). */
  onTrainerInit(options: TrainerOptions): void {
    const trainer: TrainerFlags<"callbacks" | "enableCheckpointing" | "enableProgressBar" | "enableModelSummary"> = this.trainer;
    const enableCheckpointing = (trainer.enableCheckpointing = options.enableCheckpointing ?? true);
    const enableProgressBar = (trainer.enableProgressBar = options.enableProgressBar ?? true);
    const enableModelSummary = (trainer.enableModelSummary = options.enableModelSummary ?? true);
    const callbacks = options.callbacks;
    const list: Callback[] = callbacks === null || callbacks === undefined ? [] : Array.isArray(callbacks) ? [...callbacks] : [callbacks];
    list.forEach((cb, i) => {
      if (!(cb instanceof Callback)) {
        throw new TypeError(`callbacks[${i}] must be a Callback (extend \`Callback\`), got ${describeValue(cb)}`);
      }
    });
    // Checkpointing.
    const checkpoints = list.filter((c) => c instanceof Checkpoint);
    if (checkpoints.length > 0) {
      if (!enableCheckpointing) {
        throw new MisconfigurationError("Trainer was configured with `enableCheckpointing=false` but found `ModelCheckpoint` in callbacks list.");
      }
    } else if (enableCheckpointing) {
      list.push(new ModelCheckpoint());
    }
    // Progress bar: any `ProgressBar` subclass counts, whatever its name.
    const bars = list.filter((c) => c instanceof ProgressBar);
    if (bars.length > 1) {
      throw new MisconfigurationError("You added multiple progress bar callbacks to the Trainer, but currently only one progress bar is supported.");
    }
    if (bars.length === 1) {
      if (!enableProgressBar) {
        throw new MisconfigurationError(
          `Trainer was configured with \`enableProgressBar=false\` but found \`${bars[0].constructor.name}\` in callbacks list.`,
        );
      }
    } else if (enableProgressBar) {
      list.push(new TQDMProgressBar());
    }
    // Model summary (Lightning's check covers its RichModelSummary too: any subclass counts).
    if (enableModelSummary && !list.some((c) => c instanceof ModelSummary)) list.push(new ModelSummary());
    trainer.callbacks = reorderCallbacks(list);
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
