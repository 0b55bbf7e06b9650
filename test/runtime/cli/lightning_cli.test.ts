/**
 * LightningCLI: Trainer flags, model options, subcommands, config files and --print_config, with
 * the Trainer's own validation messages; the flag table covers every Trainer option a command
 * line can hold.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it, expect, beforeAll } from "vitest";
import { parse as parseYaml } from "yaml";
import { CommanderError } from "commander";
import { LightningCLI } from "lightning-ts";
import { TRAINER_OPTION_KEYS } from "../../../src/runtime/trainer/options";
import { CLI_TRAINER_FLAGS, NOT_ON_THE_COMMAND_LINE } from "../../../src/runtime/cli/trainer_flags";
import { usePureJsCpu, Classifier, EvalClassifier, tmpRoot, withLossTrace, manualSeed } from "../trainer/helpers";

function cli(args: string[], out: string[] = [], model: typeof Classifier = Classifier): LightningCLI<Classifier> {
  return new LightningCLI(model, null, { args, exitOnError: false, write: (t) => out.push(t) });
}

const quiet = ["--trainer.enableProgressBar", "false", "--trainer.enableModelSummary", "false", "--trainer.logger", "false"];

describe("LightningCLI", () => {
  beforeAll(usePureJsCpu);

  it("sets Trainer flags and model options from the command line and fits", async () => {
    const root = tmpRoot();
    const c = cli(["fit", "--trainer.maxEpochs", "2", "--trainer.limitTrainBatches", "0.5", "--trainer.accelerator", "cpu", "--trainer.precision", "bf16-mixed",
      "--trainer.defaultRootDir", root, "--model.lr", "1e-3", "--model.n", "64", "--seed_everything", "7", ...quiet]);
    expect(c.subcommand).toBe("fit");
    expect(c.config.trainer).toMatchObject({ maxEpochs: 2, limitTrainBatches: 0.5, accelerator: "cpu", precision: "bf16-mixed" });
    expect(c.config.model).toEqual({ lr: 1e-3, n: 64 });
    expect(c.model.cfg.lr).toBe(1e-3);
    expect(c.trainer.precisionPlugin.name).toBe("bf16-mixed");
    await c.run();
    // 64 samples in batches of 16, half of them per epoch, 2 epochs
    expect(c.trainer.globalStep).toBe(4);
    expect(c.trainer.currentEpoch).toBe(2);
  });

  it("--seed_everything seeds the run: the same seed gives the same losses whatever came before, another seed others", async () => {
    const run = (before: number, seed: string) =>
      withLossTrace(async () => {
        manualSeed(before); // a different random state before each run: only --seed_everything can make them equal
        await cli(["fit", "--trainer.maxEpochs", "1", "--trainer.accelerator", "cpu", "--trainer.enableCheckpointing", "false", "--seed_everything", seed, ...quiet]).run();
      });
    const a = await run(1, "3");
    expect(await run(2, "3")).toEqual(a);
    expect(await run(1, "4")).not.toEqual(a);
  });

  it("--help lists every Trainer flag with its type and default, and the table covers every Trainer option a command line can hold", () => {
    const out: string[] = [];
    const c = cli(["fit", "--help"], out);
    expect(c.exited).toBe(true);
    const help = out.join("");
    for (const flag of CLI_TRAINER_FLAGS) {
      expect(help).toContain(`--trainer.${flag.name} <value>`);
      expect(help).toContain(`(type: ${flag.type}, default: ${flag.default})`);
    }
    expect(help).toMatch(/--config <file>/);
    expect(help).toMatch(/--print_config/);
    expect([...CLI_TRAINER_FLAGS.map((f) => f.name), ...NOT_ON_THE_COMMAND_LINE].sort()).toEqual([...TRAINER_OPTION_KEYS].sort());
  });

  it("values are validated by the Trainer with its own messages; an unknown flag is a command-line error", () => {
    expect(() => cli(["fit", "--trainer.maxEpochs", "abc"])).toThrow(/maxEpochs/);
    expect(() => cli(["fit", "--trainer.precision", "64"])).toThrow(/TensorFlow.js has no float64 dtype/);
    expect(() => cli(["fit", "--trainer.maxEpoch", "3"])).toThrow(CommanderError);
    expect(() => cli(["train"])).toThrow(CommanderError);
  });

  it("--config files are merged in order, the command line overrides them, and --print_config prints the result as YAML", () => {
    const dir = tmpRoot();
    const a = path.join(dir, "a.yaml");
    const b = path.join(dir, "b.yaml");
    fs.writeFileSync(a, "trainer:\n  maxEpochs: 5\n  accelerator: cpu\nmodel:\n  lr: 0.1\nseed_everything: 11\n");
    fs.writeFileSync(b, "trainer:\n  maxEpochs: 4\n");
    const out: string[] = [];
    const c = cli(["fit", "--config", a, "--config", b, "--model.lr", "0.05", "--print_config"], out);
    expect(c.exited).toBe(true);
    const printed = parseYaml(out.join(""));
    expect(printed).toEqual({ seed_everything: 11, trainer: { maxEpochs: 4, accelerator: "cpu" }, model: { lr: 0.05 } });
    // the printed config is a config file: feeding it back gives the same configuration
    fs.writeFileSync(path.join(dir, "c.yaml"), out.join(""));
    expect(cli(["fit", "--config", path.join(dir, "c.yaml"), ...quiet]).config).toMatchObject(printed);
    fs.writeFileSync(path.join(dir, "bad.yaml"), "optimizer:\n  lr: 1\n");
    expect(() => cli(["fit", "--config", path.join(dir, "bad.yaml")])).toThrow("unknown section `optimizer`");
  });

  it("test and validate run the matching Trainer method with --ckpt_path", async () => {
    const root = tmpRoot();
    const fit = cli(["fit", "--trainer.maxEpochs", "1", "--trainer.accelerator", "cpu", "--trainer.defaultRootDir", root, ...quiet.slice(0, 4)], [], EvalClassifier);
    await fit.run();
    const ckpt = fit.trainer.checkpointCallback!.bestModelPath;
    expect(fs.existsSync(ckpt)).toBe(true);
    const test = cli(["test", "--trainer.accelerator", "cpu", "--trainer.defaultRootDir", root, "--ckpt_path", ckpt, ...quiet], [], EvalClassifier);
    const results = (await test.run()) as Array<Record<string, number>>;
    expect(Object.keys(results[0]!)).toContain("test_loss");
    const validate = cli(["validate", "--trainer.accelerator", "cpu", "--ckpt_path", ckpt, ...quiet], [], EvalClassifier);
    expect(Object.keys(((await validate.run()) as Array<Record<string, number>>)[0]!)).toContain("val_loss");
  });
});
