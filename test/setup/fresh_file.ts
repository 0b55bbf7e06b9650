/**
 * Runs before every test file of the torch/runtime project. That project shares one process
 * among many test files (`isolate: false`: loading tfjs and the WASM backend once per worker
 * instead of once per file is most of the suite's speed), so each file starts here from what a
 * fresh process would give it: no spies or fake timers, the environment and working directory
 * the worker started with, the default backend, no open step scope, an empty autograd tape (the
 * previous file's graphs are gone with it), no injected rank and the loss trace's own rank check.
 */
import { vi } from "vitest";
import { selectBackend, backendFromEnv } from "../../src/torch/backends/select";
import { releaseNode, replaceTape, tape } from "../../src/torch/autograd/tape";
import { closeOpenStepScopes } from "../../src/torch/autograd/step_scope";
import { setLossTraceRankCheck } from "../../src/torch/autograd/loss_trace";
import { rankZeroOnly } from "../../src/runtime/utilities/rank_zero";

const start = globalThis as { __freshFileStart?: { env: NodeJS.ProcessEnv; cwd: string } };
start.__freshFileStart ??= { env: { ...process.env }, cwd: process.cwd() };
const { env, cwd } = start.__freshFileStart;

// Spies, stubs and fake timers an earlier file left in place.
vi.restoreAllMocks();
vi.unstubAllGlobals();
vi.useRealTimers();
for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];
Object.assign(process.env, env);
process.chdir(cwd);

closeOpenStepScopes();
for (const node of tape()) releaseNode(node);
replaceTape([]);
rankZeroOnly.rank = undefined;
// A Trainer or Lite an earlier file built pointed the loss trace at its strategy's rank.
setLossTraceRankCheck(null);
await selectBackend(backendFromEnv());
