/**
 * Run by select.test.ts in a process of its own, with Vulkan pointed at no driver: WebGPU's
 * asynchronous start fails, ready() reports that, and a later start clears it. (Its own process:
 * one that has started Dawn before keeps the Vulkan drivers it loaded, whatever the environment
 * says later.)
 */
import { ready, selectBackend } from "lightning-ts/torch";

const out: string[] = [];
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
await selectBackend("webgpu").then(
  () => out.push("select: started"),
  (e: unknown) => out.push(`select: ${message(e)}`),
);
await ready().then(
  (name) => out.push(`ready: ${name}`),
  (e: unknown) => out.push(`ready: ${message(e)}`),
);
await selectBackend("wasm");
out.push(`then: ${await ready()}`);
console.log(`RESULT ${JSON.stringify(out)}`);
