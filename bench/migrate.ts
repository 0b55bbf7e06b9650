/**
 * lit-migrate, end to end.
 *
 *   npx tsx bench/migrate.ts
 *
 * 1. `lit-migrate --help`, and a generated ~1,000-line plain script (model classes, helpers with
 *    `device` parameters and backward calls, device moves of every form) migrated, each by a cold
 *    process: the built command (dist/cli/bin.js, what npm installs; `npm run build` first)
 *    against the sources run through tsx's loader, interleaved (target: ≤ 1 s for the script).
 *    Wall time and, where /usr/bin/time exists, CPU time: on a loaded machine the CPU time is the
 *    stable number.
 * 2. The same script in-process, per phase (parse + analysis, transforms + splice, prettier).
 * 3. Throughput: one `lit-migrate` run over a directory of 100 copies of the fixtures.
 *
 * BENCH_ROUNDS (default 5) sets the number of cold runs.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { analyzeScript, formatTypeScript, migrate, parseScript } from "../src/codemods/index";

const ROOT = resolve(import.meta.dirname, "..");
/** The command as npm installs it, and the same from the sources through tsx's loader. */
const BUILT = [join(ROOT, "dist", "cli", "bin.js")];
const SOURCES = ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href, join(ROOT, "src", "cli", "bin.ts")];
if (!existsSync(BUILT[0]!)) throw new Error("bench/migrate.ts times the built command: run `npm run build` first");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

/** A plain script of about `lines` lines with the shapes the codemod rewrites. */
export function generateScript(lines: number): string {
  const parts: string[] = [
    "// Generated for bench/migrate.ts: many models, helpers and device moves.",
    'import { tf, nn, F, optim, data, cuda, manualSeed, noGrad, save } from "lightning-ts/torch";',
    "",
    "manualSeed(0);",
    "",
  ];
  const blocks: string[] = [];
  let i = 0;
  // Each model adds a 37-line block and 5 lines to main(); main() has 10 more.
  const count = () => parts.length + blocks.join("\n").split("\n").length + 10 + 5 * blocks.length;
  while (count() + 42 <= lines) {
    blocks.push(`class Net${i} extends nn.Module {
  fc1 = new nn.Linear(16, 32);
  fc2 = new nn.Linear(32, 4);

  override forward(x: tf.Tensor): tf.Tensor {
    // two layers, ReLU between
    return this.fc2.forward(F.relu(this.fc1.forward(x)));
  }
}

function trainEpoch${i}(model: Net${i}, loader: data.DataLoader, optimizer: optim.Optimizer, device: string): number {
  model.train();
  let total = 0;
  for (const [x, y] of loader) {
    const inputs = x.to(device);
    const targets = y.to(device);
    optimizer.zeroGrad();
    const loss = F.crossEntropy(model.forward(inputs), targets);
    loss.backward();
    optimizer.step();
    total += loss.cpu().item();
  }
  return total;
}

function evaluate${i}(model: Net${i}, loader: data.DataLoader, device: string): number {
  model.eval();
  let correct = 0;
  noGrad(() => {
    for (const [x, y] of loader) {
      correct += model.forward(x.to(device)).argMax(1).equal(y.to(device)).sum().cpu().item();
    }
  });
  return correct;
}
`);
    i++;
  }
  const models = blocks.length;
  const main: string[] = [
    "async function main(args: { epochs: number; lr: number }) {",
    '  const device = cuda.isAvailable() ? "cuda" : "cpu";',
    "  const dataset = new data.SyntheticClassification({ numSamples: 64, numFeatures: 16, numClasses: 4 });",
    "  const loader = new data.DataLoader(dataset, { batchSize: 16, shuffle: true });",
  ];
  for (let m = 0; m < models; m++) {
    main.push(
      `  const model${m} = new Net${m}().to(device);`,
      `  if (cuda.isAvailable()) model${m}.cuda();`,
      `  const optimizer${m} = new optim.Adam(model${m}.parameters(), { lr: args.lr });`,
    );
  }
  main.push("  for (let epoch = 0; epoch < args.epochs; epoch++) {");
  for (let m = 0; m < models; m++) {
    main.push(
      `    const loss${m} = trainEpoch${m}(model${m}, loader, optimizer${m}, device);`,
      `    console.log(\`model ${m}: loss \${loss${m}.toFixed(4)} correct \${evaluate${m}(model${m}, loader, device)}\`);`,
    );
  }
  main.push("  }", "  await save(model0.stateDict(), \"model0.bin\");", "}", "", "main({ epochs: 1, lr: 1e-3 });", "");
  return [...parts, ...blocks, ...main].join("\n");
}

function timeCommand(args: string[], cwd: string): { wall: number; cpu: number | null; code: number | null } {
  const useTime = existsSync("/usr/bin/time");
  const argv = useTime ? ["/usr/bin/time", "-f", "CPU %U %S", process.execPath, ...args] : [process.execPath, ...args];
  const t0 = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  const wall = (performance.now() - t0) / 1000;
  const m = /CPU ([\d.]+) ([\d.]+)/.exec(r.stderr ?? "");
  return { wall, cpu: m ? Number(m[1]) + Number(m[2]) : null, code: r.status };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (s: number) => `${s.toFixed(2)} s`;

const dir = mkdtempSync(join(tmpdir(), "lit-migrate-bench-"));
try {
  // ---- 1. cold process on a ~1,000-line script ----
  const script = generateScript(1000);
  const scriptPath = join(dir, "big.ts");
  writeFileSync(scriptPath, script);
  const lineCount = script.split("\n").length;
  // One warm-up run each so tsx's transpile cache is filled, as it is for any user after the first run.
  const launchers = [
    ["built (dist/cli/bin.js)", BUILT],
    ["sources through tsx", SOURCES],
  ] as const;
  for (const [, bin] of launchers) timeCommand([...bin, scriptPath, "--to", "lite", "--out", join(dir, "warmup.ts"), "--force", "--quiet"], dir);
  const cases = [
    ["--help", ["--help"]],
    [`${lineCount}-line script --to lite`, [scriptPath, "--to", "lite", "--out", join(dir, "big.lite.ts"), "--force", "--quiet"]],
  ] as const;
  console.log(`cold lit-migrate (${ROUNDS} interleaved runs each; min / median):`);
  for (const [label, args] of cases) {
    const results = launchers.map(() => [] as ReturnType<typeof timeCommand>[]);
    for (let i = 0; i < ROUNDS; i++) launchers.forEach(([, bin], k) => results[k]!.push(timeCommand([...bin, ...args], dir)));
    for (const [k, [name]] of launchers.entries()) {
      const runs = results[k]!;
      if (runs.some((r) => r.code !== 0)) throw new Error(`lit-migrate ${label} (${name}) exited with ${runs.map((r) => r.code).join(", ")}`);
      const walls = runs.map((r) => r.wall);
      const cpus = runs.flatMap((r) => (r.cpu === null ? [] : [r.cpu]));
      console.log(
        `  ${label.padEnd(30)} ${name.padEnd(24)} wall ${fmt(Math.min(...walls))} / ${fmt(median(walls))}` +
          (cpus.length ? `   CPU ${fmt(Math.min(...cpus))} / ${fmt(median(cpus))}` : ""),
      );
    }
  }

  // ---- 2. in-process phases ----
  const t0 = performance.now();
  const parsed = parseScript(script, scriptPath);
  const analysis = analyzeScript(parsed);
  const t1 = performance.now();
  const raw = await migrate(script, { to: "lite", fileName: scriptPath, format: false });
  const t2 = performance.now();
  if (raw.status !== "migrated") throw new Error(`migration failed: ${JSON.stringify(raw)}`);
  await formatTypeScript(raw.output, scriptPath);
  const t3 = performance.now();
  await formatTypeScript(raw.output, scriptPath);
  const t4 = performance.now();
  const edits = Object.values(raw.counts).reduce((a, b) => a + b, 0);
  console.log(`in-process, same script (${analysis.deviceMoves.length} device moves, ${analysis.backwardCalls.length} backward calls, ~${edits} rewrites):`);
  console.log(`  parse + analysis ${(t1 - t0).toFixed(0)} ms (first run in the process)`);
  console.log(`  whole migration without prettier ${(t2 - t1).toFixed(0)} ms (parse, analysis, transforms, one splice)`);
  console.log(`  prettier ${(t3 - t2).toFixed(0)} ms first, ${(t4 - t3).toFixed(0)} ms warm`);
  // The self-check (codemods/self-check.ts) against the migration without it, interleaved.
  const withCheck: number[] = [];
  const withoutCheck: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (const [list, selfCheck] of [[withCheck, true], [withoutCheck, false]] as const) {
      const start = performance.now();
      await migrate(script, { to: "lite", fileName: scriptPath, format: false, selfCheck });
      list.push(performance.now() - start);
    }
  }
  console.log(
    `  self-check of the output: ${(median(withCheck) - median(withoutCheck)).toFixed(0)} ms ` +
      `(median migration ${median(withCheck).toFixed(0)} ms with it, ${median(withoutCheck).toFixed(0)} ms without, ${ROUNDS} interleaved runs)`,
  );

  // ---- 3. throughput over 100 fixture copies ----
  const fixtures = readdirSync(join(ROOT, "fixtures"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(ROOT, "fixtures", d.name, "input.ts")))
    .map((d) => d.name);
  const many = join(dir, "many");
  mkdirSync(many);
  for (let k = 0; k < 100; k++) {
    const name = fixtures[k % fixtures.length]!;
    copyFileSync(join(ROOT, "fixtures", name, "input.ts"), join(many, `${String(k).padStart(3, "0")}_${name}.ts`));
  }
  const bytes = readdirSync(many).reduce((a, f) => a + readFileSync(join(many, f)).length, 0);
  const dirRun = timeCommand([...BUILT, many, "--to", "lite", "--quiet"], dir);
  if (dirRun.code !== 0) throw new Error(`lit-migrate over the directory exited with ${dirRun.code}`);
  console.log(`directory of 100 fixture copies (${(bytes / 1024).toFixed(0)} KiB):`);
  console.log(
    `  ${fmt(dirRun.wall)} wall${dirRun.cpu === null ? "" : `, ${fmt(dirRun.cpu)} CPU`}: ` +
      `${(100 / dirRun.wall).toFixed(1)} files/s wall${dirRun.cpu === null ? "" : `, ${(100 / dirRun.cpu).toFixed(1)} files/CPU-s`}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
