import { MisconfigurationError } from "../../errors.ts";

/** The process environment, or a given one (tests). */
export type Env = Record<string, string | undefined>;

/** An integer variable (`fallback` when unset), refused with its name when malformed or below `min`. */
export function readInt(env: Env, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) {
    throw new MisconfigurationError(`environment variable ${name}='${raw}' is not an integer >= ${min}`);
  }
  return v;
}

/** A variable that must be set, with what sets it in the message. */
export function required(env: Env, name: string, setBy: string): string {
  const v = env[name];
  if (v === undefined || v === "") throw new MisconfigurationError(`environment variable ${name} is not set (${setBy} sets it)`);
  return v;
}

/** Where the rendezvous store is, and which variables said so (for connect errors). */
export interface MainAddress {
  host: string;
  port: number;
  /** e.g. "MASTER_ADDR:MASTER_PORT" or "SLURM_NODELIST, 15000 + SLURM_JOB_ID's last 4 digits" */
  source: string;
}
