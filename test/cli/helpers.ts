/** Running `lit-migrate` in-process against temporary directories. */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { main } from "../../src/cli/lit-migrate";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { afterEach } from "vitest";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
  });
  return { code, stdout, stderr };
}

/** A temporary directory with the given files; returns its path. */
/** Node arguments that run the lit-migrate command from the sources (src/cli/bin.ts through tsx). */
export const LIT_MIGRATE = ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href, join(import.meta.dirname, "..", "..", "src", "cli", "bin.ts")];

/** A temporary project of these files; an ES module package (`"type": "module"`) unless `package.json` is given. */
export function tempTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "lit-migrate-cli-"));
  for (const [path, text] of Object.entries({ "package.json": '{ "type": "module" }\n', ...files })) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** `tree(files)`: a temporary project for one test, removed after it (registers an afterEach). */
export function treesRemovedAfterEach(): (files: Record<string, string>) => string {
  let roots: string[] = [];
  afterEach(() => {
    roots.forEach(remove);
    roots = [];
  });
  return (files) => {
    const root = tempTree(files);
    roots.push(root);
    return root;
  };
}

export function read(root: string, path: string): string {
  return readFileSync(join(root, path), "utf8");
}

export function remove(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

export function git(root: string, ...args: string[]): string {
  return execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd: root, encoding: "utf8" });
}

export const TRAIN = `import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

class Net extends nn.Module {
  fc = new nn.Linear(4, 2);
  override forward(x: tf.Tensor): tf.Tensor {
    return this.fc.forward(x);
  }
}

async function main(args: { epochs: number }) {
  const device = cuda.isAvailable() ? "cuda" : "cpu";
  const model = new Net().to(device);
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  const loader = new data.DataLoader(new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8], "int32")), { batchSize: 4 });
  for (let epoch = 0; epoch < args.epochs; epoch++) {
    for (const [x, y] of loader) {
      optimizer.zeroGrad();
      const loss = F.crossEntropy(model.forward(x.to(device)), y.to(device));
      loss.backward();
      optimizer.step();
    }
  }
}

main({ epochs: 1 });
`;

/** A script whose migration needs a human (an unrecognised `.to(...)`). */
export const TRAIN_WITH_TODO = TRAIN.replace("model.forward(x.to(device))", "model.forward(x.to(other))").replace(
  "  for (let epoch",
  "  const other = tf.zeros([1]);\n  for (let epoch",
);

export const SYNTAX_ERROR = `import { nn } from "lightning-ts/torch";\nconst broken = ;\n`;
export const NO_LOOP = `import { nn } from "lightning-ts/torch";\nexport const net = new nn.Linear(2, 1);\n`;
