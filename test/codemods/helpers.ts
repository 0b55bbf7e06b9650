/** Shared by the codemod tests: dedented source snippets and a migrate-or-throw helper. */
import { migrate, type MigrateOptions, type MigrationResult } from "../../src/codemods/index";

/** Template tag: drops the first newline and the common indentation, keeps a final newline. */
export function ts(strings: TemplateStringsArray, ...values: unknown[]): string {
  const raw = strings.reduce((acc, s, i) => acc + s + (i < values.length ? String(values[i]) : ""), "");
  const lines = raw.replace(/^\n/, "").replace(/\n[ \t]*$/, "\n").split("\n");
  const indent = Math.min(...lines.filter((l) => l.trim() !== "").map((l) => /^[ \t]*/.exec(l)![0].length));
  return lines.map((l) => l.slice(indent)).join("\n");
}

export type Migrated = Extract<MigrationResult, { status: "migrated" }>;

/** Migrates to lite and returns the result, failing the test on anything but "migrated". */
export async function toLite(source: string, options: Partial<MigrateOptions> = {}): Promise<Migrated> {
  const result = await migrate(source, { to: "lite", ...options });
  if (result.status !== "migrated") {
    throw new Error(`expected a migration, got ${result.status}: ${"reason" in result ? result.reason : ""}`);
  }
  return result;
}

/** The migrated text only. */
export async function lite(source: string, options: Partial<MigrateOptions> = {}): Promise<string> {
  return (await toLite(source, options)).output;
}

/** The body of `run()` in a migrated output, dedented, for focused comparisons. */
export function runBody(output: string): string {
  const start = output.indexOf("run(");
  const open = output.indexOf("{\n", output.indexOf(")", start));
  let depth = 0;
  let end = open;
  for (let i = open; i < output.length; i++) {
    if (output[i] === "{") depth++;
    else if (output[i] === "}" && --depth === 0) {
      end = i;
      break;
    }
  }
  return ts([output.slice(open + 2, end)] as unknown as TemplateStringsArray).trimEnd() + "\n";
}

/** A minimal plain script around the body of `main`, for transform tests. */
export function script(
  body: string,
  { imports = "tf, nn, F, optim, data, cuda", prelude = "", args = "args: { epochs: number }" } = {},
): string {
  const indented = body
    .trimEnd()
    .split("\n")
    .map((l) => (l.trim() === "" ? "" : `  ${l}`))
    .join("\n");
  return [
    `import { ${imports} } from "lightning-ts/torch";`,
    "",
    "class Net extends nn.Module {",
    "  fc = new nn.Linear(4, 2);",
    "  override forward(x: tf.Tensor): tf.Tensor {",
    "    return this.fc.forward(x);",
    "  }",
    "}",
    ...(prelude ? ["", prelude.trimEnd()] : []),
    "",
    `async function main(${args}) {`,
    indented,
    "}",
    "",
    "main({ epochs: 1 });",
    "",
  ].join("\n");
}

/** The output without import lines and the generated `new Lite({...})` options (for "no device left" checks). */
export function code(output: string): string {
  return output.replace(/^import [^;]*;$/gm, "").replace(/new Lite\(\{[^}]*\}\)/g, "new Lite()");
}
