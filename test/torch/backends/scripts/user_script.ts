/**
 * A user's plain script, run in a child process by select.test.ts: it trains nothing, but does
 * what a script does first (import, make tensors, maybe switch backend) and then fails the way
 * the test asks (`throw`, `late-throw`, `reject`) or exits normally (`ok`).
 */
import { tf } from "lightning-ts/torch";

const mode = process.argv[2] ?? "ok";
console.log(`backend=${tf.getBackend()}`);
tf.tensor([1, 2, 3]).square().dataSync();
// The pure-JS backend created lazily after another one: its first write used to print tfjs's banner.
await tf.setBackend("cpu");
tf.tensor([4, 5]).add(1).dataSync();
console.log("tensors ok");

if (mode === "throw") throw new Error("boom from user code");
if (mode === "late-throw") setTimeout(() => { throw new Error("late boom from user code"); }, 5);
if (mode === "reject") void Promise.reject(new Error("rejected in user code"));
