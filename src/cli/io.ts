/**
 * What the CLI touches of its process, passed in so that tests can run it in-process: the
 * working directory, the environment, and the two output streams.
 */
import { Chalk, type ChalkInstance } from "chalk";

export interface CliIo {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

export function processIo(): CliIo {
  return { cwd: process.cwd(), env: process.env, stdout: process.stdout, stderr: process.stderr };
}

/**
 * Colours only on a terminal, never with `NO_COLOR` set (https://no-color.org), always with
 * `FORCE_COLOR` (chalk 5 honours `FORCE_COLOR` but not `NO_COLOR`, hence the explicit check).
 */
export function colorsFor(io: CliIo, stream: "stdout" | "stderr" = "stdout"): ChalkInstance {
  const force = io.env.FORCE_COLOR;
  if (force !== undefined && force !== "0" && force !== "false") return new Chalk({ level: 1 });
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== "") return new Chalk({ level: 0 });
  if (io.env.TERM === "dumb") return new Chalk({ level: 0 });
  return new Chalk({ level: io[stream].isTTY ? 1 : 0 });
}
