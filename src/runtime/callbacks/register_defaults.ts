/**
 * Plugs this package's callbacks into the Trainer's defaults (trainer/connectors/
 * default_callbacks.ts): `ModelCheckpoint()` for `enableCheckpointing`, `TQDMProgressBar()`
 * for `enableProgressBar`, `ModelSummary()` for `enableModelSummary`, and the class checks
 * that tell the Trainer a user-given callback already plays one of those roles. Imported for
 * its effect by callbacks/index.ts, so any import of the package's callbacks (or of the
 * package root) installs them.
 */
import { defaultCallbacks } from "../trainer/connectors/default_callbacks";
import { ModelCheckpoint } from "./model_checkpoint";
import { ModelSummary } from "./model_summary";
import { ProgressBar } from "./progress/progress_bar";
import { TQDMProgressBar } from "./progress/tqdm_progress";

defaultCallbacks.modelCheckpoint = () => new ModelCheckpoint();
defaultCallbacks.progressBar = () => new TQDMProgressBar();
// `instanceof`, not the class name: `class MyBar extends TQDMProgressBar` is the bar too.
defaultCallbacks.isProgressBar = (cb): cb is ProgressBar => cb instanceof ProgressBar;
defaultCallbacks.modelSummary = () => new ModelSummary();
// Lightning's check covers its RichModelSummary too; any ModelSummary subclass counts.
defaultCallbacks.isModelSummary = (cb) => cb instanceof ModelSummary;
