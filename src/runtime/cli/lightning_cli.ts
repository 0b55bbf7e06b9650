/**
 * `LightningCLI` (Lightning's `lightning.pytorch.cli.LightningCLI`, the successor of
 * `add_argparse_args` / `from_argparse_args`): a script's command line sets every Trainer flag,
 * the model's and the datamodule's constructor options, and picks what to run:
 *
 *   node train.js fit --trainer.maxEpochs 3 --trainer.limitTrainBatches 0.1 --model.lr 1e-3
 *   node train.js fit --config config.yaml --trainer.precision bf16-mixed
 *   node train.js fit --print_config > config.yaml
 *   node train.js test --ckpt_path best
 *
 * Subcommands `fit`, `validate`, `test`, `predict`; `--trainer.<flag>` for every Trainer flag
 * (`--help` lists them with type and default), `--model.<option>` / `--data.<option>` for the
 * options object the model's / datamodule's constructor takes, `--seed_everything`, `--ckpt_path`.
 * Values are read as YAML scalars (`3`, `1e-3`, `true`, `null`, `[0, 1]`, `gpu`). `--config`
 * YAML files (sections `trainer`, `model`, `data`, `seed_everything`, `ckpt_path`) come first,
 * flags on the command line override them. The Trainer, model and datamodule constructors
 * validate the values, with their own messages. Parsing is commander's.
 *
 *   const cli = new LightningCLI(VAE, MNISTDataModule);   // parses, builds trainer, model, data
 *   await cli.run();                                      // runs the subcommand
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { Trainer } from "../trainer/trainer.ts";
import type { TrainerOptions } from "../trainer/options.ts";
import type { LightningModule } from "../core/module.ts";
import type { LightningDataModule } from "../core/datamodule.ts";
import { seedEverything } from "../utilities/seed.ts";
import { MisconfigurationError } from "../errors.ts";
import { CLI_TRAINER_FLAGS, NOT_ON_THE_COMMAND_LINE } from "./trainer_flags.ts";

export type Subcommand = "fit" | "validate" | "test" | "predict";
const SUBCOMMANDS: readonly Subcommand[] = ["fit", "validate", "test", "predict"];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ModelClass<M extends LightningModule> = new (options?: any) => M;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type DataModuleClass<D extends LightningDataModule> = new (options?: any) => D;

export interface LightningCLIOptions {
  /** The arguments to parse (default: `process.argv.slice(2)`). */
  args?: string[];
  /** Trainer options used unless the config or the command line sets them (`callbacks` and `plugins` too, which only code can give). */
  trainerDefaults?: TrainerOptions;
  /** `seed_everything` default: `true` draws a seed, a number is used, `false` seeds nothing (default true). */
  seedEverythingDefault?: boolean | number;
  /** Throw errors (a `CommanderError` for a bad command line) instead of printing them and exiting (default true: exit). */
  exitOnError?: boolean;
  /** Where `--help` and `--print_config` write (default stdout). */
  write?: (text: string) => void;
}

/** The merged configuration (what `--print_config` prints). */
export interface CLIConfig {
  seed_everything: boolean | number;
  trainer: Record<string, unknown>;
  model: Record<string, unknown>;
  data?: Record<string, unknown>;
  ckpt_path?: string | null;
}

export class LightningCLI<M extends LightningModule = LightningModule, D extends LightningDataModule = LightningDataModule> {
  readonly subcommand: Subcommand | null = null;
  readonly config: CLIConfig;
  readonly trainer!: Trainer;
  readonly model!: M;
  readonly datamodule: D | null = null;
  /** True when `--help` or `--print_config` was given: nothing was built and `run()` does nothing. */
  readonly exited: boolean = false;
  private ran = false;

  constructor(modelClass: ModelClass<M>, datamoduleClass: DataModuleClass<D> | null = null, options: LightningCLIOptions = {}) {
    const write = options.write ?? ((text: string) => process.stdout.write(text));
    const parsed = parseCommandLine(options.args ?? process.argv.slice(2), datamoduleClass !== null, write, options.exitOnError ?? true, options);
    this.config = mergeConfig(parsed, options, datamoduleClass !== null);
    if (parsed.subcommand === null) {
      this.exited = true;
      return;
    }
    this.subcommand = parsed.subcommand;
    if (parsed.printConfig) {
      write(stringifyYaml(this.config));
      this.exited = true;
      return;
    }
    const seed = this.config.seed_everything;
    if (seed !== false) seedEverything(seed === true ? undefined : seed);
    this.model = new modelClass(this.config.model);
    this.datamodule = datamoduleClass ? new datamoduleClass(this.config.data ?? {}) : null;
    this.trainer = new Trainer({ ...objectDefaults(options.trainerDefaults), ...this.config.trainer } as TrainerOptions);
    process.once("beforeExit", () => {
      if (!this.ran) process.emitWarning(`LightningCLI parsed the \`${this.subcommand}\` subcommand but run() was never called: await cli.run()`);
    });
  }

  /** Runs the subcommand: `trainer.fit(model, { datamodule, ckptPath })`, or validate/test/predict. */
  async run(): Promise<unknown> {
    this.ran = true;
    if (this.exited || this.subcommand === null) return undefined;
    const common = { datamodule: this.datamodule, ckptPath: this.config.ckpt_path ?? null };
    switch (this.subcommand) {
      case "fit":
        return this.trainer.fit(this.model, common);
      case "validate":
        return this.trainer.validate(this.model, common);
      case "test":
        return this.trainer.test(this.model, common);
      case "predict":
        return this.trainer.predict(this.model, common);
    }
  }
}

interface ParsedCommandLine {
  subcommand: Subcommand | null;
  printConfig: boolean;
  configFiles: string[];
  trainer: Record<string, unknown>;
  model: Record<string, unknown>;
  data: Record<string, unknown>;
  seedEverything?: unknown;
  ckptPath?: unknown;
}

/** `3` → 3, `1e-3` → 0.001, `true`, `null`, `[0, 1]`, anything else a string: jsonargparse's reading. */
function yamlValue(raw: string): unknown {
  try {
    return parseYaml(raw);
  } catch {
    return raw;
  }
}

function parseCommandLine(argv: string[], withData: boolean, write: (t: string) => void, exitOnError: boolean, options: LightningCLIOptions): ParsedCommandLine {
  const result: ParsedCommandLine = { subcommand: null, printConfig: false, configFiles: [], trainer: {}, model: {}, data: {} };
  const script = process.argv[1] ? basename(process.argv[1]) : "lightning-cli";
  const shown = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  const trainerDefaults = valueDefaults(options.trainerDefaults);
  const program = new Command(script)
    .description("Train, validate, test or predict with a LightningModule; every Trainer flag on the command line")
    .configureOutput({ writeOut: write, writeErr: exitOnError ? (t) => process.stderr.write(t) : () => {} })
    .exitOverride();
  for (const name of SUBCOMMANDS) {
    const sub = program.command(name).description(`${name} (trainer.${name}(model, ...))`);
    sub.configureOutput({ writeOut: write, writeErr: exitOnError ? (t) => process.stderr.write(t) : () => {} }).exitOverride();
    sub.option("-c, --config <file>", "a YAML config file (trainer, model, data, seed_everything, ckpt_path sections); several are merged in order", (v, prev: string[]) => [...prev, v], []);
    sub.option("--print_config", "print the merged configuration as YAML and exit");
    sub.option("--seed_everything <value>", `seed every random stream: true (a drawn seed), false, or a number (default: ${shown(options.seedEverythingDefault ?? true)})`);
    sub.option("--ckpt_path <path>", "checkpoint to resume from (fit) or evaluate: a path, last or best");
    for (const flag of CLI_TRAINER_FLAGS) {
      const value = flag.name in trainerDefaults ? shown(trainerDefaults[flag.name]) : flag.default;
      sub.addOption(new Option(`--trainer.${flag.name} <value>`, `${flag.help} (type: ${flag.type}, default: ${value})`));
    }
    // The model's (and datamodule's) options are whatever their constructors take: every
    // --model.<x> / --data.<x> on this command line is declared before commander parses it.
    for (const arg of argv) {
      const m = /^--(model|data)\.([A-Za-z_$][\w$]*)(=.*)?$/.exec(arg);
      if (!m || (m[1] === "data" && !withData)) continue;
      const long = `--${m[1]}.${m[2]}`;
      if (!sub.options.some((o) => o.long === long)) sub.option(`${long} <value>`, `${m[1] === "model" ? "model" : "datamodule"} option ${m[2]}`);
    }
    sub.addHelpText("after", `\nModel options: --model.<name> <value> (passed to the model's constructor as { name: value })${withData ? "\nDatamodule options: --data.<name> <value>" : ""}\n`);
    sub.action((opts: Record<string, unknown>) => {
      result.subcommand = name;
      result.printConfig = opts.print_config === true;
      result.configFiles = opts.config as string[];
      if (opts.seed_everything !== undefined) result.seedEverything = yamlValue(opts.seed_everything as string);
      if (opts.ckpt_path !== undefined) result.ckptPath = opts.ckpt_path;
      for (const [key, value] of Object.entries(opts)) {
        const m = /^(trainer|model|data)\.(.+)$/.exec(key);
        if (m) result[m[1] as "trainer" | "model" | "data"][m[2]!] = yamlValue(String(value));
      }
    });
  }
  try {
    program.parse(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.help" || e.code === "commander.version") return result;
      if (exitOnError) process.exit(e.exitCode === 0 ? 0 : 2);
    }
    throw e;
  }
  if (result.subcommand === null && argv.length === 0) {
    const message = `a subcommand is needed: ${SUBCOMMANDS.join(", ")} (--help lists the options)`;
    if (exitOnError) {
      process.stderr.write(`error: ${message}\n`);
      process.exit(2);
    }
    throw new MisconfigurationError(message);
  }
  return result;
}

function mergeConfig(parsed: ParsedCommandLine, options: LightningCLIOptions, withData: boolean): CLIConfig {
  const config: CLIConfig = {
    seed_everything: options.seedEverythingDefault ?? true,
    trainer: valueDefaults(options.trainerDefaults),
    model: {},
    ...(withData ? { data: {} } : {}),
  };
  for (const file of parsed.configFiles) {
    const loaded = parseYaml(readFileSync(file, "utf8")) as Record<string, unknown> | null;
    if (loaded === null || typeof loaded !== "object") throw new MisconfigurationError(`${file}: a config file is a YAML mapping (trainer, model, data, seed_everything, ckpt_path)`);
    for (const [key, value] of Object.entries(loaded)) {
      if (key === "trainer" || key === "model" || (key === "data" && withData)) {
        if (value !== null && (typeof value !== "object" || Array.isArray(value))) throw new MisconfigurationError(`${file}: \`${key}\` must be a mapping`);
        Object.assign((config[key] ??= {}), value ?? {});
      } else if (key === "seed_everything") config.seed_everything = value as boolean | number;
      else if (key === "ckpt_path") config.ckpt_path = value as string | null;
      else throw new MisconfigurationError(`${file}: unknown section \`${key}\`; expected trainer, model, data, seed_everything, ckpt_path`);
    }
  }
  Object.assign(config.trainer, parsed.trainer);
  Object.assign(config.model, parsed.model);
  if (Object.keys(parsed.data).length > 0) Object.assign((config.data ??= {}), parsed.data);
  if (parsed.seedEverything !== undefined) config.seed_everything = parsed.seedEverything as boolean | number;
  if (parsed.ckptPath !== undefined) config.ckpt_path = parsed.ckptPath as string;
  return config;
}

/** Trainer defaults that are values (a config file can hold them; `--print_config` prints them). */
function valueDefaults(defaults: TrainerOptions | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(defaults ?? {}).filter(([key]) => !(NOT_ON_THE_COMMAND_LINE as readonly string[]).includes(key)));
}

/** Trainer defaults only objects can fill (callbacks, plugins): given to the Trainer, not printed. */
function objectDefaults(defaults: TrainerOptions | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(defaults ?? {}).filter(([key]) => (NOT_ON_THE_COMMAND_LINE as readonly string[]).includes(key)));
}
