/**
 * `--verify [--steps N]`: runs the original and the migrated script, each in its own process
 * (`node --import tsx`), with `LIGHTNING_TS_LOSS_TRACE` pointing at a fresh file, and compares
 * the first N losses.
 *
 * Both runs also get `LIGHTNING_TS_MAX_STEPS=N`: the torch layer exits (code 0) once it has
 * traced N losses, and a script that keeps going anyway is stopped, so `--verify` never waits
 * for a whole training run. The scripts seed themselves (`manualSeed`), as the fixtures do.
 *
 * The comparison is relative: |a - b| / max(|a|, |b|) for each step; the largest is printed and
 * anything above 1e-5 fails (exit code 3).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { sourceConditionFlags } from "./source_condition.ts";

export const VERIFY_TOLERANCE = 1e-5;

export interface VerifyResult {
  ok: boolean;
  steps: number;
  /** Losses compared (at most `steps`). */
  compared: number;
  maxRelativeDifference: number | null;
  /** Step (0-based) of the largest difference. */
  worstStep: number | null;
  /** The migrated losses were compared with the original's times this (an accumulation division the Trainer now does). */
  traceScale: number;
  reason?: string;
}

export async function verifyMigration(
  original: string,
  migrated: string,
  steps: number,
  cwd: string,
  env: NodeJS.ProcessEnv,
  traceScale = 1,
): Promise<VerifyResult> {
  const dir = mkdtempSync(join(tmpdir(), "lit-migrate-verify-"));
  try {
    const timeoutMs = Number(env.LIT_MIGRATE_VERIFY_TIMEOUT ?? 600) * 1000;
    const a = await traceLosses(original, { trace: join(dir, "original.trace"), steps, cwd, env, timeoutMs });
    const b = await traceLosses(migrated, { trace: join(dir, "migrated.trace"), steps, cwd, env, timeoutMs });
    const fail = (reason: string): VerifyResult => ({ ok: false, steps, compared: 0, maxRelativeDifference: null, worstStep: null, traceScale, reason });
    if (a.failure) return fail(`the original script failed: ${a.failure}`);
    if (b.failure) return fail(`the migrated script failed: ${b.failure}`);
    if (a.losses.length === 0) return fail("the original script logged no loss (no backward pass ran)");
    return { steps, ...compareLosses(a.losses, b.losses, traceScale) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type LossComparison = Omit<VerifyResult, "steps">;

/**
 * Compares two loss sequences step by step, the migrated one against `traceScale` times the
 * original (see `VerifyResult.traceScale`).
 */
export function compareLosses(original: readonly number[], migrated: readonly number[], traceScale = 1): LossComparison {
  if (original.length !== migrated.length) {
    return {
      ok: false,
      compared: 0,
      maxRelativeDifference: null,
      worstStep: null,
      traceScale,
      reason: `the scripts logged ${original.length} and ${migrated.length} losses`,
    };
  }
  let worst = 0;
  let worstStep = 0;
  original.forEach((x, i) => {
    const d = relativeDifference(x * traceScale, migrated[i]!);
    if (d > worst || Number.isNaN(d)) {
      worst = Number.isNaN(d) ? Infinity : d;
      worstStep = i;
    }
  });
  const ok = worst <= VERIFY_TOLERANCE;
  return {
    ok,
    compared: original.length,
    maxRelativeDifference: worst,
    worstStep,
    traceScale,
    ...(ok ? {} : { reason: `loss differs by ${worst.toExponential(2)} (relative) at step ${worstStep}: ${original[worstStep]! * traceScale} vs ${migrated[worstStep]}` }),
  };
}

export function relativeDifference(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
}

export function tsxLoaderUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
}

function readTrace(trace: string): string[] {
  if (!existsSync(trace)) return [];
  return readFileSync(trace, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "");
}

export interface TraceOptions {
  /** The trace file to write (removed first). */
  trace: string;
  /** Stop after this many losses; `Infinity` runs the script to its end. */
  steps: number;
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Node flags before the script (`--import lightning-ts/backend-ready`). */
  nodeArgs?: string[];
  /** The script's own arguments, after it (`--initFrom=resume`). */
  args?: string[];
}

export interface TraceRun {
  /** The first `steps` traced losses. */
  losses: number[];
  /** The same losses as the trace file spells them (for byte-for-byte reproducibility checks). */
  lines: string[];
  /** The process failed on its own (not stopped by us after N losses). */
  failure: string | null;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The end of what the script printed, for a failure message. */
  stdoutTail: string;
  stderrTail: string;
  /** The start of its stderr (what a backend reports when it starts). */
  stderrHead: string;
  ms: number;
}

/**
 * Runs one script the way a user does (`node --import tsx`) with `LIGHTNING_TS_LOSS_TRACE` and,
 * for a finite `steps`, `LIGHTNING_TS_MAX_STEPS`: the torch layer then exits by itself (code 0)
 * once it has traced that many losses. A script that keeps going anyway is stopped shortly after.
 */
export function traceLosses(script: string, options: TraceOptions): Promise<TraceRun> {
  const { trace, steps, cwd, timeoutMs } = options;
  rmSync(trace, { force: true });
  // A migrated module's Trainer writes lightning_logs/ (and checkpoints) under its default root:
  // beside the trace, not in the user's working folder.
  const env: NodeJS.ProcessEnv = { ...options.env, LIGHTNING_TS_LOSS_TRACE: trace, LIGHTNING_TS_DEFAULT_ROOT_DIR: dirname(trace) };
  if (Number.isFinite(steps)) env.LIGHTNING_TS_MAX_STEPS = String(steps);
  else delete env.LIGHTNING_TS_MAX_STEPS;
  const started = Date.now();
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [...sourceConditionFlags(), "--import", tsxLoaderUrl(), ...(options.nodeArgs ?? []), script, ...(options.args ?? [])], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group, so that stopping it also stops whatever it started.
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    let stderrHead = "";
    child.stdout!.on("data", (d: Buffer) => {
      stdout = (stdout + d.toString()).slice(-4000);
    });
    child.stderr!.on("data", (d: Buffer) => {
      if (stderrHead.length < 2000) stderrHead = (stderrHead + d.toString()).slice(0, 2000);
      stderr = (stderr + d.toString()).slice(-4000);
    });
    let stoppedByUs = false;
    let timedOut = false;
    const stop = () => {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        /* already gone */
      }
      setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          /* already gone */
        }
      }, 2000).unref();
    };
    // The fallback for a script that does not stop at N: a grace period first, so a runtime
    // that exits by itself is never killed in the middle of exiting.
    let grace: NodeJS.Timeout | undefined;
    const poll = Number.isFinite(steps)
      ? setInterval(() => {
          if (grace === undefined && readTrace(trace).length >= steps) {
            clearInterval(poll);
            grace = setTimeout(() => {
              stoppedByUs = true;
              stop();
            }, 1000);
          }
        }, 100)
      : undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutMs);
    child.on("close", (code, signal) => {
      clearInterval(poll);
      clearTimeout(grace);
      clearTimeout(timer);
      const lines = readTrace(trace).slice(0, steps);
      const losses = lines.map(Number);
      let failure: string | null = null;
      if (timedOut && losses.length < steps) failure = `timed out after ${timeoutMs / 1000} s with ${losses.length} of ${steps} losses`;
      else if (!stoppedByUs && losses.length < steps && (code !== 0 || signal)) {
        const tail = errorLines(stderr).join("\n    ");
        failure = `exit ${code ?? signal}${tail ? `:\n    ${tail}` : ""}`;
      }
      resolveRun({ losses, lines, failure, code, signal, stdoutTail: stdout, stderrTail: stderr, stderrHead, ms: Date.now() - started });
    });
  });
}

/** The informative end of a crashed script's stderr: the message, not the stack frames. */
function errorLines(stderr: string): string[] {
  return stderr
    .split("\n")
    .filter((l) => l.trim() !== "" && !/^\s+at /.test(l) && !/^Node\.js v/.test(l) && !/^\s*\^+\s*$/.test(l))
    .slice(-3);
}
