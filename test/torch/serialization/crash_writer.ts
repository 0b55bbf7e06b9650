/**
 * Child process for the crash test (atomic_write.test.ts): saves a large checkpoint over the
 * file named in argv[2] with every write slowed down, so the parent can SIGKILL it mid-write.
 * Not a test file itself.
 */
import * as fs from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";

const require = createRequire(import.meta.url);
const cjsFs = require("node:fs") as typeof fs;
const realWriteSync = cjsFs.writeSync;
const pause = new Int32Array(new SharedArrayBuffer(4));
// Each chunk takes 25 ms longer: 200 chunks make a write window of several seconds.
(cjsFs as { writeSync: unknown }).writeSync = (...args: Parameters<typeof fs.writeSync>) => {
  Atomics.wait(pause, 0, 0, 25);
  return (realWriteSync as (...a: unknown[]) => number)(...args);
};
syncBuiltinESMExports();

const { tf, saveSync } = await import("../../../src/torch/index");
const target = process.argv[2];
const state: Record<string, unknown> = {};
for (let i = 0; i < 200; i++) state[`layer${i}`] = tf.fill([16384], i + 1000);
process.stdout.write("writing\n");
saveSync({ version: "new", state }, target);
process.stdout.write("done\n");
