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

/** Migrates to module and returns the result, failing the test on anything but "migrated". */
export async function toModule(source: string, options: Partial<MigrateOptions> = {}): Promise<Migrated> {
  const result = await migrate(source, { to: "module", ...options });
  if (result.status !== "migrated") {
    throw new Error(`expected a migration, got ${result.status}: ${"reason" in result ? result.reason : ""}`);
  }
  return result;
}

/** The `--to module` output only. */
export async function mod(source: string, options: Partial<MigrateOptions> = {}): Promise<string> {
  return (await toModule(source, options)).output;
}

/**
 * A member of the generated class, dedented, from its header to its closing brace
 * (`member(out, "trainingStep")` → `override trainingStep(...) {\n  ...\n}\n`); null if absent.
 */
export function member(output: string, name: string): string | null {
  const classStart = output.search(/^(export )?class \w+ extends LightningModule \{$/m);
  if (classStart === -1) return null;
  const header = new RegExp(`^  ((?:override |private |readonly )*(?:async )?${name}\\()`, "m").exec(output.slice(classStart));
  if (!header) return null;
  const start = classStart + header.index;
  // Past the parameter list (which may hold braces: `args: { epochs: number }`), then the body.
  let i = start + header[0].length - 1; // at "("
  let parens = 0;
  do {
    if (output[i] === "(") parens++;
    else if (output[i] === ")") parens--;
    i++;
  } while (parens > 0);
  let depth = 0;
  for (i = output.indexOf("{", i); i < output.length; i++) {
    if (output[i] === "{") depth++;
    else if (output[i] === "}" && --depth === 0) {
      return ts([output.slice(start, i + 1)] as unknown as TemplateStringsArray) + "\n";
    }
  }
  return null;
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
