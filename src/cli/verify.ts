/**
 * `--verify [--steps N]`: runs the original and the migrated script, each in its own process
 * (`node --import tsx`), with `LIGHTNING_TS_LOSS_TRACE` pointing at a fresh file, and compares
 * the first N losses.
 *
 * Both runs also get `LIGHTNING_TS_MAX_STEPS=N`, so a runtime that honours it stops by itself;
 * one that does not is stopped once N losses are in its trace, so `--verify` never waits for a
 * whole training run. The scripts seed themselves (`manualSeed`), as the fixtures do.
 *
 * The comparison is relative: |a - b| / max(|a|, |b|) for each step; the largest is printed and
 * anything above 1e-5 fails (exit code 3).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

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

interface RunOutcome {
  losses: number[];
  /** The process failed on its own (not stopped by us after N losses). */
  failure: string | null;
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
    const a = await runForLosses(original, join(dir, "original.trace"), steps, cwd, env, timeoutMs);
    const b = await runForLosses(migrated, join(dir, "migrated.trace"), steps, cwd, env, timeoutMs);
    const fail = (reason: string): VerifyResult => ({ ok: false, steps, compared: 0, maxRelativeDifference: null, worstStep: null, traceScale, reason });
    if (a.failure) return fail(`the original script failed: ${a.failure}`);
    if (b.failure) return fail(`the migrated script failed: ${b.failure}`);
    if (a.losses.length === 0) return fail("the original script logged no loss (no backward pass ran)");
    if (a.losses.length !== b.losses.length) {
      return fail(`the scripts logged ${a.losses.length} and ${b.losses.length} losses`);
    }
    let worst = 0;
    let worstStep = 0;
    a.losses.forEach((x, i) => {
      const d = relativeDifference(x * traceScale, b.losses[i]!);
      if (d > worst || Number.isNaN(d)) {
        worst = Number.isNaN(d) ? Infinity : d;
        worstStep = i;
      }
    });
    const ok = worst <= VERIFY_TOLERANCE;
    return {
      ok,
      steps,
      compared: a.losses.length,
      maxRelativeDifference: worst,
      worstStep,
      traceScale,
      ...(ok ? {} : { reason: `loss differs by ${worst.toExponential(2)} (relative) at step ${worstStep}: ${a.losses[worstStep]! * traceScale} vs ${b.losses[worstStep]}` }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function relativeDifference(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
}

function tsxLoaderUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
}

function readLosses(trace: string): number[] {
  if (!existsSync(trace)) return [];
  return readFileSync(trace, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map(Number);
}

function runForLosses(script: string, trace: string, steps: number, cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunOutcome> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, ["--import", tsxLoaderUrl(), script], {
      cwd,
      env: { ...env, LIGHTNING_TS_LOSS_TRACE: trace, LIGHTNING_TS_MAX_STEPS: String(steps) },
      stdio: ["ignore", "ignore", "pipe"],
      // Its own process group, so that stopping it also stops whatever it started.
      detached: true,
    });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => {
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
    const poll = setInterval(() => {
      if (readLosses(trace).length >= steps) {
        stoppedByUs = true;
        clearInterval(poll);
        stop();
      }
    }, 100);
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutMs);
    child.on("close", (code, signal) => {
      clearInterval(poll);
      clearTimeout(timer);
      const losses = readLosses(trace).slice(0, steps);
      let failure: string | null = null;
      if (timedOut && losses.length < steps) failure = `timed out after ${timeoutMs / 1000} s with ${losses.length} of ${steps} losses`;
      else if (!stoppedByUs && losses.length < steps && (code !== 0 || signal)) {
        const tail = errorLines(stderr).join("\n    ");
        failure = `exit ${code ?? signal}${tail ? `:\n    ${tail}` : ""}`;
      }
      resolveRun({ losses, failure });
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
