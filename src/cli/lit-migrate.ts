/**
 * `lit-migrate <file|dir|glob>... --to lite|module [options]` (SPEC §7).
 *
 * Exit codes: 0 migrated (or nothing to do), 1 migrated with TODOs for a human, 2 could not
 * migrate (or a usage error), 3 `--verify` found different losses. Problems are printed as
 * `file:line:col  reason`, never as a stack trace (`LIT_MIGRATE_DEBUG=1` adds one for bugs).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
// Only light modules here: `./run` pulls in TypeScript, which loads while prettier starts in
// its worker (see ../codemods/format.ts).
import { startFormatWorker, stopFormatWorker } from "../codemods/format.ts";
import { colorsFor, processIo, type CliIo } from "./io.ts";
import type { RunOptions } from "./run.ts";

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

function program(io: CliIo): Command {
  return new Command()
    .name("lit-migrate")
    .description("Rewrite plain lightning-ts/torch training scripts into LightningLite (--to lite) or LightningModule (--to module) form.")
    .argument("<paths...>", "scripts, directories (searched for *.ts) or globs")
    .addOption(new Option("--to <target>", "what to migrate to").choices(["lite", "module"]).makeOptionMandatory())
    .option("--out <path>", "output file (one input) or directory (default: train.lite.ts or train.module.ts beside train.ts)")
    .option("--in-place", "rewrite the input files (needs a clean git tree, or --force)")
    .option("--force", "overwrite existing outputs; allow --in-place on uncommitted files")
    .option("--dry-run", "write nothing; print a unified diff")
    .option("--diff", "write nothing; print a unified diff")
    .option("--json", "print per-file results as JSON")
    .option("--typecheck", "also run the full TypeScript check of each output (slower: 2-3 s; --verify does it too)")
    .option("--verify", "run the original and the migrated script and compare their losses")
    .option("--steps <n>", "losses to compare with --verify", positiveInteger, 10)
    .option("--class-name <name>", "name of the generated class (default: Lite; with --to module, the model's class + Module, e.g. NetModule)")
    .option("--quiet", "print only failures")
    .addHelpText(
      "after",
      `
Exit codes: 0 migrated or nothing to do, 1 migrated with TODOs, 2 could not migrate, 3 --verify failed.
--verify runs both scripts with LIGHTNING_TS_LOSS_TRACE=<tmp> and LIGHTNING_TS_MAX_STEPS=<steps>,
and fails above ${"1e-5"} relative difference (LIT_MIGRATE_VERIFY_TIMEOUT: seconds per script, default 600).`,
    )
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
}

export interface MainOptions {
  /**
   * Format in a worker thread that starts before TypeScript loads (the bin does this: it cuts a
   * cold run's wall time by the prettier start-up). In-process callers usually leave it off.
   */
  formatWorker?: boolean;
}

export async function main(argv: string[], io: CliIo = processIo(), { formatWorker = false }: MainOptions = {}): Promise<number> {
  const cmd = program(io);
  try {
    cmd.parse(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; everything else is a usage error.
      return error.exitCode === 0 ? 0 : 2;
    }
    throw error;
  }
  const o = cmd.opts<{
    to: "lite" | "module";
    out?: string;
    inPlace?: boolean;
    force?: boolean;
    dryRun?: boolean;
    diff?: boolean;
    json?: boolean;
    verify?: boolean;
    typecheck?: boolean;
    steps: number;
    className?: string;
    quiet?: boolean;
  }>();
  const usage = (message: string) => {
    io.stderr.write(`${colorsFor(io, "stderr").red("lit-migrate:")} ${message}\n`);
    return 2;
  };
  if (o.inPlace && o.out !== undefined) return usage("--in-place and --out exclude each other");
  if (o.inPlace && (o.dryRun || o.diff)) return usage("--in-place and --dry-run/--diff exclude each other");
  const options: RunOptions = {
    paths: cmd.args,
    to: o.to,
    out: o.out,
    className: o.className,
    steps: o.steps,
    inPlace: o.inPlace === true,
    force: o.force === true,
    dryRun: o.dryRun === true,
    diff: o.diff === true,
    json: o.json === true,
    verify: o.verify === true,
    typecheck: o.typecheck === true,
    quiet: o.quiet === true,
  };
  if (formatWorker) startFormatWorker();
  try {
    const { runMigration } = await import("./run.ts");
    return await runMigration(options, io);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`lit-migrate: internal error: ${message}\n`);
    if (io.env.LIT_MIGRATE_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return 2;
  } finally {
    await stopFormatWorker();
  }
}

