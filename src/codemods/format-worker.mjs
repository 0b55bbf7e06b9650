// Prettier in a worker thread, for the CLI (see format.ts). Plain JavaScript because workers do
// not inherit tsx's loader. The warm-up format runs while the main thread is still loading
// TypeScript and migrating, so that the real format finds prettier's parser and printer compiled.
import { parentPort } from "node:worker_threads";

const prettier = await import("prettier");
await prettier
  .format("class A extends B {\n  override async run(x: { a: number }) {\n    for (const [y] of this.z(x)) f(y as T);\n  }\n}\n", {
    parser: "babel-ts",
  })
  .catch(() => undefined);

// Requests: { id, op: "format", text, options } → { id, output } | { id, error }
//           { id, op: "resolveConfig", filePath } → { id, output: config | null } | { id, error }
parentPort.on("message", async ({ id, op, text, options, filePath }) => {
  try {
    const output =
      op === "resolveConfig"
        ? await prettier.resolveConfig(filePath, { editorconfig: true })
        : await prettier.format(text, options);
    parentPort.postMessage({ id, output });
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
parentPort.postMessage({ ready: true });
