/**
 * `ModelCheckpoint` (Lightning 2.x's `lightning.pytorch.callbacks.ModelCheckpoint`): saves the
 * model periodically, keeps the best `saveTopK` checkpoints by a monitored metric, and
 * optionally a `last.ckpt`.
 *
 *   new ModelCheckpoint({ monitor: "val_loss", mode: "min", saveTopK: 3, filename: "{epoch}-{val_loss:.2f}" })
 *
 * Everything a Lightning user relies on behaves the same: the default directory
 * (`<saveDir>/<name>/version_N/checkpoints`, or `<defaultRootDir>/checkpoints` without a
 * logger), file names (`epoch=E-step=S.ckpt`, Python format specs, `-v1` on clashes), when a
 * save happens (after validation when validation runs several times per epoch or not every
 * epoch, at the end of the training epoch otherwise; every N steps / epochs / seconds), the
 * top-k bookkeeping (`bestModelPath`, `bestModelScore`, `bestKModels`, `kthBestModelPath`)
 * and its restoration from a checkpoint, and the error text for a monitored key nobody logged.
 *
 * The semantics are those of Lightning 2.5, including its deferral of a step-triggered save
 * until validation has produced the monitored metric.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { MisconfigurationError } from "../errors.ts";
import { rankZeroWarn } from "../utilities/rank_zero.ts";
import { dumpYaml } from "../loggers/yaml_emitter.ts";
import type { LightningModule } from "../core/module.ts";
import type { Trainer } from "../trainer/trainer.ts";
import type { TrainerFnName } from "../trainer/states.ts";
import { Checkpoint, type HookResult, type TrainBatchOutputs } from "./callback.ts";
import { reduceBooleanDecision } from "./distributed.ts";
import { rankZeroInfo } from "../utilities/rank_zero.ts";
import { formatIndexedTemplate, formatPyNumber, pyInt, pyFloat, pyStrRepr, type PyNumber } from "../utilities/python_format.ts";
import { checkOptionKeys, optionKeys } from "../utilities/option_keys.ts";

/** A duration, as Python's `timedelta` (all fields add up). */
export interface TimeDelta {
  days?: number;
  hours?: number;
  minutes?: number;
  seconds?: number;
  milliseconds?: number;
}

export interface ModelCheckpointOptions {
  /** Where to write (default: `<logger saveDir>/<name>/version_N/checkpoints`, or `<defaultRootDir>/checkpoints` without a logger). */
  dirpath?: string | null;
  /** File name template (default `"{epoch}-{step}"`); `{metric:spec}` fields are filled with Python formatting. */
  filename?: string | null;
  /** Metric to rank checkpoints by; without it the latest checkpoint is kept. */
  monitor?: string | null;
  /** Print a line for every top-k decision. */
  verbose?: boolean;
  /** Also keep `last.ckpt` (a copy), or `"link"`: a symbolic link to the newest checkpoint. */
  saveLast?: boolean | "link" | null;
  /** Keep the best k checkpoints (default 1); 0 saves none, -1 keeps all. */
  saveTopK?: number;
  /** Save a checkpoint when training raises. */
  saveOnException?: boolean;
  /** Save only the model's weights (no optimizer, scheduler or loop state). */
  saveWeightsOnly?: boolean;
  /** Whether a lower ("min", default) or higher ("max") monitored value is better. */
  mode?: "min" | "max";
  /** `{epoch}` becomes `epoch=3` (default true); false leaves `3`, for names holding `=` or `/` yourself. */
  autoInsertMetricName?: boolean;
  /** Save every N optimizer steps (0/undefined: not step-based). */
  everyNTrainSteps?: number | null;
  /** Save at most every this many seconds of training (a number of seconds, or a duration). */
  trainTimeInterval?: number | TimeDelta | null;
  /** Save every N epochs (default 1 when no other trigger is given). */
  everyNEpochs?: number | null;
  /** Save at the end of the training epoch (true) or after validation (false); default: decided from the validation schedule. */
  saveOnTrainEpochEnd?: boolean | null;
  /** Append `-v1`, `-v2`, … when a file of the same name exists (default true); false overwrites it. */
  enableVersionCounter?: boolean;
}

/** Checked in the constructor (utilities/option_keys.ts). */
const OPTION_KEYS = optionKeys<ModelCheckpointOptions>()(["dirpath", "filename", "monitor", "verbose", "saveLast", "saveTopK", "saveOnException", "saveWeightsOnly", "mode", "autoInsertMetricName", "everyNTrainSteps", "trainTimeInterval", "everyNEpochs", "saveOnTrainEpochEnd", "enableVersionCounter"]);

/** The monitored values and template keys, as Python would hold them (see utilities/python_format.ts). */
export type MonitorCandidates = Record<string, PyNumber>;

type ConstName = "CHECKPOINT_JOIN_CHAR" | "CHECKPOINT_EQUALS_CHAR" | "CHECKPOINT_NAME_LAST" | "FILE_EXTENSION" | "STARTING_VERSION";

function totalSeconds(t: number | TimeDelta): number {
  if (typeof t === "number") return t;
  return (t.days ?? 0) * 86400 + (t.hours ?? 0) * 3600 + (t.minutes ?? 0) * 60 + (t.seconds ?? 0) + (t.milliseconds ?? 0) / 1000;
}

/** Python's `repr(timedelta)` (`datetime.timedelta(seconds=3600)`), for the state key. */
function timedeltaRepr(seconds: number): string {
  let micro = Math.round(seconds * 1e6);
  const days = Math.floor(micro / 86_400e6);
  micro -= days * 86_400e6;
  const secs = Math.floor(micro / 1e6);
  micro -= secs * 1e6;
  const parts: string[] = [];
  if (days) parts.push(`days=${days}`);
  if (secs) parts.push(`seconds=${secs}`);
  if (micro) parts.push(`microseconds=${micro}`);
  return `datetime.timedelta(${parts.length ? parts.join(", ") : "0"})`;
}

function expandUser(p: string): string {
  if (p === "~") return os.homedir();
  if (p.startsWith("~/")) return path.join(os.homedir(), p.slice(2));
  return p;
}

function sumBatches(n: number | readonly number[]): number {
  return Array.isArray(n) ? (n as number[]).reduce((a, b) => a + b, 0) : (n as number);
}

export class ModelCheckpoint extends Checkpoint {
  static CHECKPOINT_JOIN_CHAR = "-";
  static CHECKPOINT_EQUALS_CHAR = "=";
  static CHECKPOINT_NAME_LAST = "last";
  static FILE_EXTENSION = ".ckpt";
  static STARTING_VERSION = 1;

  monitor: string | null;
  verbose: boolean;
  saveLast: boolean | "link" | null;
  saveTopK: number;
  saveOnException: boolean;
  saveWeightsOnly: boolean;
  autoInsertMetricName: boolean;
  filename: string | null;
  mode: "min" | "max";
  /** The score of the k-th best checkpoint (the one replaced next); ±Infinity until k are kept. */
  kthValue: number;
  /** The monitored value of the most recent top-k save. */
  currentScore: number | null = null;
  /** Path → monitored score of every checkpoint kept for top-k, in the order they were added. */
  bestKModels: Record<string, number> = {};
  kthBestModelPath = "";
  bestModelScore: number | null = null;

  private _dirpath: string | null;
  private _bestModelPath = "";
  private _lastModelPath = "";
  private readonly constOverrides: Partial<Record<ConstName, string | number>> = {};
  private readonly saveOnTrainEpochEndFlag: boolean | null;
  private readonly enableVersionCounter: boolean;
  private readonly everyNTrainStepsValue: number;
  private readonly everyNEpochsValue: number;
  private readonly trainTimeIntervalSeconds: number | null;
  /** Optimizer steps at the last save: nothing new to save at the same step (0: no step taken yet). */
  private lastGlobalStepSaved = 0;
  private lastTimeChecked: number | null = null;
  private lastCheckpointSaved = "";
  private deferSaveUntilValidation = false;
  /** Whether the fit's validation loop completed a (non-sanity) batch since it last started: Lightning's `val_loop._has_run`. */
  private valLoopHasRun = false;

  constructor(options: ModelCheckpointOptions = {}) {
    super();
    checkOptionKeys(options, OPTION_KEYS, "ModelCheckpoint");
    this.monitor = options.monitor ?? null;
    this.verbose = options.verbose ?? false;
    this.saveLast = options.saveLast ?? null;
    this.saveTopK = options.saveTopK ?? 1;
    this.saveOnException = options.saveOnException ?? false;
    this.saveWeightsOnly = options.saveWeightsOnly ?? false;
    this.autoInsertMetricName = options.autoInsertMetricName ?? true;
    this.saveOnTrainEpochEndFlag = options.saveOnTrainEpochEnd ?? null;
    this.enableVersionCounter = options.enableVersionCounter ?? true;

    const mode = options.mode ?? "min";
    if (mode !== "min" && mode !== "max") throw new MisconfigurationError(`\`mode\` can be min, max but got ${String(mode)}`);
    this.mode = mode;
    this.kthValue = mode === "min" ? Infinity : -Infinity;

    // A user-given folder is made absolute now (and `~` expanded), as Lightning's realpath.
    const dirpath = options.dirpath;
    this._dirpath = dirpath ? path.resolve(expandUser(dirpath)) : null;
    this.filename = options.filename ?? null;

    let everyNTrainSteps = options.everyNTrainSteps ?? null;
    let everyNEpochs = options.everyNEpochs ?? null;
    const interval = options.trainTimeInterval ?? null;
    // No trigger given: save once per epoch (after validation or at the epoch's end).
    if (everyNTrainSteps === null && everyNEpochs === null && interval === null) {
      everyNEpochs = 1;
      everyNTrainSteps = 0;
    } else {
      everyNEpochs = everyNEpochs || 0;
      everyNTrainSteps = everyNTrainSteps || 0;
    }
    this.everyNTrainStepsValue = everyNTrainSteps;
    this.everyNEpochsValue = everyNEpochs;
    this.trainTimeIntervalSeconds = interval === null ? null : totalSeconds(interval);
    this.validateInitConfiguration();
  }

  // -----------------------------------------------------------------------------------------
  // Class constants, overridable per instance (`ckpt.CHECKPOINT_NAME_LAST = "{epoch}-last"`).

  get CHECKPOINT_JOIN_CHAR(): string {
    return this.constant("CHECKPOINT_JOIN_CHAR") as string;
  }
  set CHECKPOINT_JOIN_CHAR(v: string) {
    this.constOverrides.CHECKPOINT_JOIN_CHAR = v;
  }
  get CHECKPOINT_EQUALS_CHAR(): string {
    return this.constant("CHECKPOINT_EQUALS_CHAR") as string;
  }
  set CHECKPOINT_EQUALS_CHAR(v: string) {
    this.constOverrides.CHECKPOINT_EQUALS_CHAR = v;
  }
  get CHECKPOINT_NAME_LAST(): string {
    return this.constant("CHECKPOINT_NAME_LAST") as string;
  }
  set CHECKPOINT_NAME_LAST(v: string) {
    this.constOverrides.CHECKPOINT_NAME_LAST = v;
  }
  get FILE_EXTENSION(): string {
    return this.constant("FILE_EXTENSION") as string;
  }
  set FILE_EXTENSION(v: string) {
    this.constOverrides.FILE_EXTENSION = v;
  }
  get STARTING_VERSION(): number {
    return this.constant("STARTING_VERSION") as number;
  }
  set STARTING_VERSION(v: number) {
    this.constOverrides.STARTING_VERSION = v;
  }

  private constant(name: ConstName): string | number {
    // Instance value first, then the (sub)class's static: Python's attribute lookup order.
    return this.constOverrides[name] ?? (this.constructor as typeof ModelCheckpoint)[name];
  }

  // -----------------------------------------------------------------------------------------
  // Public state

  get dirpath(): string | null {
    return this._dirpath;
  }
  set dirpath(v: string | null) {
    this._dirpath = v;
  }

  get bestModelPath(): string {
    return this._bestModelPath;
  }
  set bestModelPath(v: string) {
    this._bestModelPath = v;
  }

  override get lastModelPath(): string {
    return this._lastModelPath;
  }
  override set lastModelPath(v: string) {
    this._lastModelPath = v;
  }

  get everyNEpochs(): number {
    return this.everyNEpochsValue;
  }

  get everyNTrainSteps(): number {
    return this.everyNTrainStepsValue;
  }

  /** The time-based trigger in seconds, or null. */
  get trainTimeInterval(): number | null {
    return this.trainTimeIntervalSeconds;
  }

  override get stateKey(): string {
    // Lightning's exact key (snake_case settings, Python reprs), so several instances that differ
    // in these settings each restore their own state.
    const interval = this.trainTimeIntervalSeconds;
    return this.generateStateKey({
      monitor: this.monitor,
      mode: this.mode,
      every_n_train_steps: this.everyNTrainStepsValue,
      every_n_epochs: this.everyNEpochsValue,
      // An object, so the key shows the repr unquoted as Python's does.
      train_time_interval: interval === null ? null : { toString: () => timedeltaRepr(interval) },
    });
  }

  // -----------------------------------------------------------------------------------------
  // Hooks

  override setup(trainer: Trainer, _module: LightningModule, stage: TrainerFnName): void {
    const dirpath = this.resolveCkptDir(trainer);
    // Every rank must write to (and delete from) the same folder: rank 0's choice wins.
    this._dirpath = trainer.strategy.broadcast(dirpath, 0);
    if (trainer.isGlobalZero && stage === "fit") this.warnIfDirNotEmpty(this._dirpath);
  }

  override onTrainStart(_trainer: Trainer, _module: LightningModule): void {
    this.lastTimeChecked = performance.now() / 1000;
  }

  override onValidationStart(trainer: Trainer, _module: LightningModule): void {
    if (trainer.state.fn === "fit") this.valLoopHasRun = false;
  }

  override onValidationBatchEnd(trainer: Trainer, _module: LightningModule): void {
    if (trainer.state.fn === "fit" && !trainer.sanityChecking) this.valLoopHasRun = true;
  }

  // Synchronous unless it saves: a promise on every batch would make the Trainer await each one.
  override onTrainBatchEnd(
    trainer: Trainer,
    _module: LightningModule,
    _outputs: TrainBatchOutputs,
    _batch: unknown,
    _batchIdx: number,
  ): HookResult {
    const skipDueToState = this.shouldSkipSavingCheckpoint(trainer);
    const skipBatch = this.everyNTrainStepsValue < 1 || trainer.globalStep % this.everyNTrainStepsValue !== 0;

    let skipTime = true;
    const now = performance.now() / 1000;
    if (this.trainTimeIntervalSeconds !== null) {
      const prev = this.lastTimeChecked;
      skipTime = prev === null || now - prev < this.trainTimeIntervalSeconds;
      // Clocks differ between ranks: rank 0 decides, so no rank waits for a save the others skip.
      skipTime = trainer.strategy.broadcast(skipTime, 0);
    }
    if (skipBatch && skipTime) return;
    if (!skipTime) this.lastTimeChecked = now;

    const candidates = this.monitorCandidates(trainer);
    // A validation-only metric is not there yet: save once validation has produced it.
    if (this.monitor !== null && !(this.monitor in candidates)) {
      this.deferSaveUntilValidation = true;
      return;
    }
    // The monitored value may be stale (from the previous validation) when validation runs right
    // after this last batch and saving is not at the epoch's end: wait for the fresh value.
    if (this.monitor !== null && !this.shouldSaveOnTrainEpochEnd(trainer) && trainer.fitLoop.epochLoop.batchProgress.isLastBatch) {
      const numVal = sumBatches(trainer.numValBatches);
      const every = trainer.checkValEveryNEpoch;
      const willRunVal = trainer.enableValidation && numVal > 0 && (every === null || (trainer.currentEpoch + 1) % every === 0);
      if (willRunVal) {
        this.deferSaveUntilValidation = true;
        return;
      }
    }
    if (skipDueToState) return;
    return this.saveTopKAndLast(trainer, candidates);
  }

  private async saveTopKAndLast(trainer: Trainer, candidates: MonitorCandidates): Promise<void> {
    await this.saveTopKCheckpoint(trainer, candidates);
    await this.saveLastCheckpoint(trainer, candidates);
  }

  override async onTrainEpochEnd(trainer: Trainer, _module: LightningModule): Promise<void> {
    if (this.shouldSkipSavingCheckpoint(trainer) || !this.shouldSaveOnTrainEpochEnd(trainer)) return;
    const candidates = this.monitorCandidates(trainer);
    if (this.everyNEpochsValue >= 1 && (trainer.currentEpoch + 1) % this.everyNEpochsValue === 0) {
      await this.saveTopKCheckpoint(trainer, candidates);
    }
    await this.saveLastCheckpoint(trainer, candidates);
  }

  override async onValidationEnd(trainer: Trainer, _module: LightningModule): Promise<void> {
    if (this.shouldSkipSavingCheckpoint(trainer) || this.shouldSaveOnTrainEpochEnd(trainer)) return;
    const candidates = this.monitorCandidates(trainer);
    if (this.deferSaveUntilValidation) {
      await this.saveTopKCheckpoint(trainer, candidates);
      await this.saveLastCheckpoint(trainer, candidates);
      this.deferSaveUntilValidation = false;
      return;
    }
    if (this.everyNEpochsValue >= 1 && (trainer.currentEpoch + 1) % this.everyNEpochsValue === 0) {
      await this.saveTopKCheckpoint(trainer, candidates);
    }
    await this.saveLastCheckpoint(trainer, candidates);
  }

  override async onException(trainer: Trainer, _module: LightningModule, error: unknown): Promise<void> {
    if (!this.shouldSaveOnException(trainer)) return;
    const candidates = this.monitorCandidates(trainer);
    const filepath = this.formatCheckpointName(candidates);
    await this.saveCheckpointFile(trainer, filepath);
    await this.saveLastCheckpoint(trainer, candidates);
    const e = error as { name?: string; message?: string };
    rankZeroInfo(`An ${e?.name ?? "Error"} was raised with message: ${e?.message ?? String(error)}, saved checkpoint to ${filepath}`, trainer);
  }

  override async onTrainEnd(trainer: Trainer, _module: LightningModule): Promise<void> {
    // `saveLast` promises a last.ckpt even when no trigger fired during the run.
    // (Not under `fastDevRun`, which promises to write nothing.)
    if (!this.saveLast || this.lastCheckpointSaved || trainer.fastDevRun || trainer.state.fn !== "fit") return;
    await this.saveLastCheckpoint(trainer, this.monitorCandidates(trainer));
  }

  override stateDict(): Record<string, unknown> {
    return {
      monitor: this.monitor,
      bestModelScore: this.bestModelScore,
      bestModelPath: this._bestModelPath,
      currentScore: this.currentScore,
      dirpath: this._dirpath,
      bestKModels: { ...this.bestKModels },
      kthBestModelPath: this.kthBestModelPath,
      kthValue: this.kthValue,
      lastModelPath: this._lastModelPath,
    };
  }

  override loadStateDict(state: Record<string, unknown>): void {
    const dirpathFromCkpt = (state.dirpath as string | null | undefined) ?? this._dirpath;
    if (this._dirpath === dirpathFromCkpt) {
      this.bestModelScore = toScore(state.bestModelScore);
      this.kthBestModelPath = (state.kthBestModelPath as string | undefined) ?? this.kthBestModelPath;
      this.kthValue = toScore(state.kthValue) ?? this.kthValue;
      const best = state.bestKModels as Record<string, unknown> | undefined;
      if (best) this.bestKModels = Object.fromEntries(Object.entries(best).map(([k, v]) => [k, toScore(v) as number]));
      this._lastModelPath = (state.lastModelPath as string | undefined) ?? this._lastModelPath;
    } else {
      rankZeroWarn(
        `The dirpath has changed from ${pyStrRepr(String(dirpathFromCkpt))} to ${pyStrRepr(String(this._dirpath))},` +
          " therefore `bestModelScore`, `kthBestModelPath`, `kthValue`, `lastModelPath` and" +
          " `bestKModels` won't be reloaded. Only `bestModelPath` will be reloaded.",
      );
    }
    this._bestModelPath = (state.bestModelPath as string | undefined) ?? "";
  }

  // -----------------------------------------------------------------------------------------
  // Names

  /**
   * The checkpoint path for `metrics` (Lightning's `format_checkpoint_name`):
   *
   *   new ModelCheckpoint({ dirpath: d, filename: "{epoch}-{val_loss:.2f}" })
   *     .formatCheckpointName({ epoch: 2, val_loss: 0.123456 })   // `${d}/epoch=2-val_loss=0.12.ckpt`
   *
   * Plain numbers under `epoch` and `step` are ints, any other plain number a float (a logged
   * metric); pass `{ value, isInt }` to say otherwise. Keys the template names but `metrics`
   * lacks read as 0.
   */
  formatCheckpointName(
    metrics: Record<string, number | PyNumber>,
    filename?: string | null,
    ver?: number | null,
    prefix?: string | null,
  ): string {
    let name = this.formatName(filename ?? this.filename, toCandidates(metrics), prefix ?? null);
    if (ver !== undefined && ver !== null) name = [name, `v${ver}`].join(this.CHECKPOINT_JOIN_CHAR);
    const ckptName = `${name}${this.FILE_EXTENSION}`;
    return this._dirpath ? path.join(this._dirpath, ckptName) : ckptName;
  }

  private formatName(filename: string | null, metrics: MonitorCandidates, prefix: string | null): string {
    let name = filename || `{epoch}${this.CHECKPOINT_JOIN_CHAR}{step}`;
    const values: MonitorCandidates = { ...metrics };
    // Every `{key` that opens a field; the longest first, so `{epoch` cannot eat `{epoch_test`.
    const groups = [...name.matchAll(/(\{.*?)[:}]/g)].map((m) => m[1]).sort((a, b) => b.length - a.length);
    for (const group of groups) {
      const key = group.slice(1);
      if (this.autoInsertMetricName) name = name.split(group).join(`${key}${this.CHECKPOINT_EQUALS_CHAR}{${key}`);
      // `{0[key]}` indexes the mapping, so keys may hold dots and slashes.
      name = name.split(group).join(`{0[${key}]`);
      if (!(key in values)) values[key] = pyInt(0);
    }
    name = formatIndexedTemplate(name, values);
    return prefix !== null ? [prefix, name].join(this.CHECKPOINT_JOIN_CHAR) : name;
  }

  /**
   * The `last` checkpoint files in the checkpoint folder (`last.ckpt`, `last-v1.ckpt`, …): what
   * `ckptPath: "last"` picks from. The folder is resolved through the trainer as at setup (the
   * default one is known before this callback's `setup` ran), so a new Trainer finds the
   * `last.ckpt` an earlier run left there. Only whole names match: `last.ckpt` and its
   * version-counter copies `last-vN.ckpt` (with this callback's name, join character and
   * extension), not every file that merely contains "last".
   */
  findLastCheckpoints(trainer: Trainer): Set<string> {
    const dir = this.resolveCkptDir(trainer);
    if (!fs.existsSync(dir)) return new Set();
    const pattern = lastCheckpointPattern(this.CHECKPOINT_NAME_LAST, this.CHECKPOINT_JOIN_CHAR, this.FILE_EXTENSION);
    const out = new Set<string>();
    for (const f of fs.readdirSync(dir)) {
      if (pattern.test(f)) out.add(path.normalize(path.join(dir, f)));
    }
    return out;
  }

  /** Writes `bestKModels` (path → score) as YAML, by default to `<dirpath>/best_k_models.yaml`. */
  toYaml(filepath?: string): void {
    if (filepath === undefined) {
      if (!this._dirpath) throw new Error("ModelCheckpoint.toYaml(): no dirpath yet (call it after setup, or pass a file)");
      filepath = path.join(this._dirpath, "best_k_models.yaml");
    }
    fs.writeFileSync(filepath, dumpYaml({ ...this.bestKModels }));
  }

  /** Whether the current top-k should take a checkpoint scoring `current` (unanimously across ranks). */
  checkMonitorTopK(trainer: Trainer, current: number | null | undefined): boolean {
    if (current === null || current === undefined) return false;
    if (this.saveTopK === -1) return true;
    if (Object.keys(this.bestKModels).length < this.saveTopK) return true;
    const kth = this.bestKModels[this.kthBestModelPath];
    const better = this.mode === "min" ? current < kth : current > kth;
    return reduceBooleanDecision(trainer, better, true);
  }

  // -----------------------------------------------------------------------------------------
  // Saving

  private resolveCkptDir(trainer: Trainer): string {
    if (this._dirpath !== null) return this._dirpath;
    const loggers = trainer.loggers;
    if (loggers.length > 0) {
      const logger = loggers[0];
      const saveDir = logger.saveDir ?? trainer.defaultRootDir;
      const version = logger.version;
      const versionDir = typeof version === "string" ? version : `version_${version}`;
      return path.join(saveDir, String(logger.name ?? ""), versionDir, "checkpoints");
    }
    return path.join(trainer.defaultRootDir, "checkpoints");
  }

  private warnIfDirNotEmpty(dirpath: string): void {
    if (this.saveTopK === 0) return;
    try {
      if (fs.statSync(dirpath).isDirectory() && fs.readdirSync(dirpath).length > 0) {
        rankZeroWarn(`Checkpoint directory ${dirpath} exists and is not empty.`);
      }
    } catch {
      /* not there yet: nothing to warn about */
    }
  }

  private monitorCandidates(trainer: Trainer): MonitorCandidates {
    const out: MonitorCandidates = {};
    for (const [k, v] of Object.entries(trainer.callbackMetrics)) out[k] = pyFloat(v);
    // `epoch` / `step` logged by the user are floats: used as ints, as Lightning's `.int()`.
    const epoch = trainer.callbackMetrics.epoch;
    out.epoch = pyInt(typeof epoch === "number" ? epoch : trainer.currentEpoch);
    const step = trainer.callbackMetrics.step;
    out.step = pyInt(typeof step === "number" ? step : trainer.globalStep);
    return out;
  }

  private shouldSkipSavingCheckpoint(trainer: Trainer): boolean {
    return (
      Boolean(trainer.fastDevRun) ||
      trainer.state.fn !== "fit" ||
      trainer.sanityChecking ||
      this.lastGlobalStepSaved === trainer.globalStep
    );
  }

  private shouldSaveOnException(trainer: Trainer): boolean {
    return (
      this.saveOnException &&
      !trainer.fastDevRun &&
      !trainer.sanityChecking &&
      this.lastGlobalStepSaved !== trainer.globalStep
    );
  }

  /** Lightning's `_should_save_on_train_epoch_end`: after validation whenever validation is not simply once per epoch. */
  private shouldSaveOnTrainEpochEnd(trainer: Trainer): boolean {
    if (this.saveOnTrainEpochEndFlag !== null) return this.saveOnTrainEpochEndFlag;
    const interval = trainer.valCheckInterval as unknown;
    // Time-based validation: always save after validation.
    if (typeof interval !== "number") return false;
    // With `checkValEveryNEpoch != 1` we cannot tell when validation runs: do not save every epoch end.
    if (trainer.checkValEveryNEpoch !== 1) return false;
    if (sumBatches(trainer.numValBatches) === 0) return true;
    // Several validations per epoch: save after each of them.
    return interval === 1.0;
  }

  private async saveTopKCheckpoint(trainer: Trainer, candidates: MonitorCandidates): Promise<void> {
    if (this.saveTopK === 0) return;
    if (this.monitor !== null) {
      if (!(this.monitor in candidates)) {
        const m =
          `\`ModelCheckpoint(monitor=${pyStrRepr(this.monitor)})\` could not find the monitored key in the returned` +
          ` metrics: [${Object.keys(candidates).map(pyStrRepr).join(", ")}].` +
          ` HINT: Did you call \`log(${pyStrRepr(this.monitor)}, value)\` in the \`LightningModule\`?`;
        // Before any validation ran, a validation metric cannot be there yet: warn, and keep training.
        if (this.valLoopHasRun) throw new MisconfigurationError(m);
        rankZeroWarn(m);
      }
      await this.saveMonitorCheckpoint(trainer, candidates);
    } else {
      await this.saveNoneMonitorCheckpoint(trainer, candidates);
    }
  }

  private async saveCheckpointFile(trainer: Trainer, filepath: string): Promise<void> {
    // The checkpoint IO creates the folder in Lightning; file names with `/` add subfolders.
    if (trainer.isGlobalZero) fs.mkdirSync(path.dirname(path.resolve(filepath)), { recursive: true });
    await trainer.saveCheckpoint(filepath, this.saveWeightsOnly);
    this.lastGlobalStepSaved = trainer.globalStep;
    this.lastCheckpointSaved = filepath;
    if (trainer.isGlobalZero) for (const logger of trainer.loggers) logger.afterSaveCheckpoint(this);
  }

  private async saveLastCheckpoint(trainer: Trainer, candidates: MonitorCandidates): Promise<void> {
    if (!this.saveLast) return;
    let filepath = this.formatCheckpointName(candidates, this.CHECKPOINT_NAME_LAST);
    if (this.enableVersionCounter) {
      let ver = this.STARTING_VERSION;
      while (this.fileExists(filepath, trainer) && filepath !== this._lastModelPath) {
        filepath = this.formatCheckpointName(candidates, this.CHECKPOINT_NAME_LAST, ver);
        ver++;
      }
    }
    // Set before saving: the path is part of the state written into the checkpoint.
    const previous = this._lastModelPath;
    this._lastModelPath = filepath;
    if (this.saveLast === "link" && this.lastCheckpointSaved && this.saveTopK !== 0) {
      linkCheckpoint(trainer, this.lastCheckpointSaved, filepath);
    } else {
      await this.saveCheckpointFile(trainer, filepath);
    }
    if (previous && this.shouldRemoveCheckpoint(trainer, previous, filepath)) this.removeCheckpoint(trainer, previous);
  }

  private async saveMonitorCheckpoint(trainer: Trainer, candidates: MonitorCandidates): Promise<void> {
    const current = candidates[this.monitor as string]?.value;
    if (this.checkMonitorTopK(trainer, current)) {
      await this.updateBestAndSave(current as number, trainer, candidates);
    } else if (this.verbose) {
      const epoch = formatPyNumber(candidates.epoch, "d");
      const step = formatPyNumber(candidates.step, "d");
      rankZeroInfo(`Epoch ${epoch}, global step ${step}: ${pyStrRepr(this.monitor as string)} was not in top ${this.saveTopK}`, trainer);
    }
  }

  private async saveNoneMonitorCheckpoint(trainer: Trainer, candidates: MonitorCandidates): Promise<void> {
    const filepath = this.metricInterpolatedFilepath(candidates, trainer, this._bestModelPath);
    // Set before saving: part of the state written into the checkpoint.
    const previous = this._bestModelPath;
    this._bestModelPath = filepath;
    await this.saveCheckpointFile(trainer, filepath);
    if (this.saveTopK === 1 && previous && this.shouldRemoveCheckpoint(trainer, previous, filepath)) {
      this.removeCheckpoint(trainer, previous);
    }
  }

  private async updateBestAndSave(current: number, trainer: Trainer, candidates: MonitorCandidates): Promise<void> {
    const kept = Object.keys(this.bestKModels).length;
    const k = this.saveTopK === -1 ? kept + 1 : this.saveTopK;
    let delFilepath: string | null = null;
    if (kept === k && k > 0) {
      delFilepath = this.kthBestModelPath;
      delete this.bestKModels[delFilepath];
    }
    // A NaN score would never be replaced: rank it worst.
    if (Number.isNaN(current)) current = this.mode === "min" ? Infinity : -Infinity;

    const filepath = this.metricInterpolatedFilepath(candidates, trainer, delFilepath);
    this.currentScore = current;
    this.bestKModels[filepath] = current;
    const entries = Object.entries(this.bestKModels);
    if (entries.length === k) {
      // The one to replace next: the worst kept (the first of equals, as Python's max/min).
      this.kthBestModelPath = pick(entries, this.mode === "min" ? "max" : "min");
      this.kthValue = this.bestKModels[this.kthBestModelPath];
    }
    this._bestModelPath = pick(entries, this.mode === "min" ? "min" : "max");
    this.bestModelScore = this.bestKModels[this._bestModelPath];

    if (this.verbose) {
      const epoch = formatPyNumber(candidates.epoch, "d");
      const step = formatPyNumber(candidates.step, "d");
      rankZeroInfo(
        `Epoch ${epoch}, global step ${step}: ${pyStrRepr(this.monitor as string)} reached ${formatPyNumber(pyFloat(current), "0.5f")}` +
          ` (best ${formatPyNumber(pyFloat(this.bestModelScore), "0.5f")}), saving model to ${pyStrRepr(filepath)} as top ${k}`,
        trainer,
      );
    }
    await this.saveCheckpointFile(trainer, filepath);
    if (delFilepath && this.shouldRemoveCheckpoint(trainer, delFilepath, filepath)) this.removeCheckpoint(trainer, delFilepath);
  }

  private metricInterpolatedFilepath(candidates: MonitorCandidates, trainer: Trainer, delFilepath: string | null): string {
    let filepath = this.formatCheckpointName(candidates);
    if (this.enableVersionCounter) {
      let ver = this.STARTING_VERSION;
      // The file about to be deleted may be overwritten; any other clash gets `-vN`.
      while (this.fileExists(filepath, trainer) && filepath !== delFilepath) {
        filepath = this.formatCheckpointName(candidates, null, ver);
        ver++;
      }
    }
    return filepath;
  }

  /** Whether `filepath` exists, as rank 0 sees it (only rank 0 touches the file system; the ranks must agree). */
  private fileExists(filepath: string, trainer: Trainer): boolean {
    const local = trainer.isGlobalZero ? fs.existsSync(filepath) : false;
    return trainer.strategy.broadcast(local, 0);
  }

  /**
   * A checkpoint is kept when it is the new one, when it is the one training resumed from, or
   * when it lies outside this callback's folder (it belongs to someone else).
   */
  private shouldRemoveCheckpoint(trainer: Trainer, previous: string, current: string): boolean {
    if (previous === current) return false;
    const prev = path.resolve(previous);
    const resume = trainer.ckptPath;
    if (resume && path.resolve(resume) === prev) return false;
    if (this._dirpath === null) return false;
    const rel = path.relative(path.resolve(this._dirpath), prev);
    return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
  }

  private removeCheckpoint(trainer: Trainer, filepath: string): void {
    const strategy = trainer.strategy as Trainer["strategy"] & { removeCheckpoint?: (p: string) => void };
    if (typeof strategy.removeCheckpoint === "function") {
      strategy.removeCheckpoint(filepath);
      return;
    }
    // Only rank 0 deletes, as only rank 0 wrote.
    if (trainer.isGlobalZero) fs.rmSync(filepath, { recursive: true, force: true });
  }

  private validateInitConfiguration(): void {
    if (this.saveTopK < -1) throw new MisconfigurationError(`Invalid value for saveTopK=${this.saveTopK}. Must be >= -1`);
    if (this.everyNTrainStepsValue < 0) {
      throw new MisconfigurationError(`Invalid value for everyNTrainSteps=${this.everyNTrainStepsValue}. Must be >= 0`);
    }
    if (this.everyNEpochsValue < 0) {
      throw new MisconfigurationError(`Invalid value for everyNEpochs=${this.everyNEpochsValue}. Must be >= 0`);
    }
    const triggers =
      Number(this.everyNTrainStepsValue >= 1) + Number(this.everyNEpochsValue >= 1) + Number(this.trainTimeIntervalSeconds !== null);
    if (triggers > 1) {
      throw new MisconfigurationError(
        `Combination of parameters everyNTrainSteps=${this.everyNTrainStepsValue}, ` +
          `everyNEpochs=${this.everyNEpochsValue} and trainTimeInterval=${this.trainTimeIntervalSeconds ?? "None"} ` +
          "should be mutually exclusive.",
      );
    }
    if (this.monitor === null && ![-1, 0, 1].includes(this.saveTopK)) {
      throw new MisconfigurationError(
        `ModelCheckpoint(saveTopK=${this.saveTopK}, monitor=None) is not a valid` + " configuration. No quantity for top_k to track.",
      );
    }
  }
}

/** `last.ckpt` as a relative symbolic link to `filepath` (a copy where links are not allowed); then all ranks meet. */
function linkCheckpoint(trainer: Trainer, filepath: string, linkpath: string): void {
  if (trainer.isGlobalZero && path.resolve(filepath) !== path.resolve(linkpath)) {
    try {
      const st = fs.lstatSync(linkpath);
      if (st.isDirectory()) fs.rmSync(linkpath, { recursive: true, force: true });
      else fs.unlinkSync(linkpath);
    } catch {
      /* nothing there */
    }
    try {
      fs.symlinkSync(path.relative(path.dirname(linkpath), filepath), linkpath);
    } catch {
      fs.copyFileSync(filepath, linkpath);
    }
  }
  trainer.strategy.barrier();
}

/** The key with the largest (`"max"`) or smallest value; the first of equal ones. */
function pick(entries: Array<[string, number]>, which: "max" | "min"): string {
  let best = entries[0];
  for (const e of entries.slice(1)) if (which === "max" ? e[1] > best[1] : e[1] < best[1]) best = e;
  return best[0];
}

function toScore(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return v;
  // A tensor-valued score (a checkpoint written by other code): its single value.
  const t = v as { dataSync?: () => ArrayLike<number> };
  if (typeof t.dataSync === "function") return t.dataSync()[0];
  return Number(v);
}

function toCandidates(metrics: Record<string, number | PyNumber>): MonitorCandidates {
  const out: MonitorCandidates = {};
  for (const [k, v] of Object.entries(metrics)) {
    out[k] = typeof v === "number" ? (k === "epoch" || k === "step" ? pyInt(v) : pyFloat(v)) : v;
  }
  return out;
}

/** `^last(-v\d+)?\.ckpt$` for the default names: a `last` checkpoint and its version-counter copies. */
export function lastCheckpointPattern(nameLast = "last", joinChar = "-", extension = ".ckpt"): RegExp {
  return new RegExp(`^${escapeRegExp(nameLast)}(${escapeRegExp(joinChar)}v\\d+)?${escapeRegExp(extension)}$`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
