/**
 * Lightning's `_SubprocessScriptLauncher`: the process the user started is rank 0; it starts the
 * other local ranks by running the same script again — `process.execPath` with
 * `process.execArgv` (tsx's loader flags included) and `process.argv` — each with the
 * environment that makes it rank r (`RANK`, `LOCAL_RANK`, `WORLD_SIZE`, `LOCAL_WORLD_SIZE`,
 * `NODE_RANK`, `MASTER_ADDR`, `MASTER_PORT`, a free port when none is set). Rank 0 then waits for
 * them: a rank that fails makes the launcher report it, stop the others and exit non-zero;
 * Ctrl-C reaches every rank through the terminal's process group.
 */
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";

export interface LaunchPlan {
  /** Processes per node (the devices of this node). */
  localWorldSize: number;
  numNodes: number;
  nodeRank: number;
  mainAddress: string;
  /** 0: pick a free port. */
  mainPort: number;
}

/** A free TCP port on this machine (the OS picks it; it is released before the store binds it). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const children: ChildProcess[] = [];

/**
 * Starts local ranks 1..localWorldSize-1 and sets this process's own environment as local rank
 * 0 (so the cluster environment and the children agree). Returns once they are started.
 */
export async function launchLocalRanks(plan: LaunchPlan): Promise<void> {
  const port = plan.mainPort || (await freePort());
  const worldSize = plan.localWorldSize * plan.numNodes;
  const common = {
    WORLD_SIZE: String(worldSize),
    LOCAL_WORLD_SIZE: String(plan.localWorldSize),
    NODE_RANK: String(plan.nodeRank),
    MASTER_ADDR: plan.mainAddress,
    MASTER_PORT: String(port),
  };
  Object.assign(process.env, common, { RANK: String(plan.nodeRank * plan.localWorldSize), LOCAL_RANK: "0" });
  for (let local = 1; local < plan.localWorldSize; local++) {
    const rank = plan.nodeRank * plan.localWorldSize + local;
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      env: { ...process.env, ...common, RANK: String(rank), LOCAL_RANK: String(local) },
      stdio: "inherit",
    });
    child.on("exit", (code, signal) => {
      if (code === 0) return;
      process.stderr.write(`lightning-ts: rank ${rank} exited with ${signal ?? `code ${code}`}; stopping the other ranks\n`);
      stopChildren();
      process.exit(1);
    });
    children.push(child);
  }
  // No SIGINT/SIGTERM handler: a training loop that never yields to the event loop would hold
  // the signal until it ends. Ctrl-C reaches every rank already (they share the terminal's
  // process group); a rank whose launcher is killed fails at its next collective, when the
  // connection to it closes.
  process.once("exit", () => stopChildren());
}

function stopChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
}
