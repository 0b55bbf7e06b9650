/**
 * `lightning-ts/codemods`: the engine behind `lit-migrate`, for use from code.
 *
 *   import { migrate } from "lightning-ts/codemods";
 *   const result = await migrate(source, { to: "lite", fileName: "train.ts" });
 *   if (result.status === "migrated") writeFileSync("train.lite.ts", result.output);
 */
export { migrate, DEFAULT_CLASS_NAME } from "./migrate.ts";
export type { MigrateOptions, MigrationResult, MigrationTarget, MigrationTodo } from "./migrate.ts";
export { parseScript, type ParsedScript } from "./source.ts";
export { analyzeScript } from "./analysis/analyze.ts";
export type * from "./analysis/types.ts";
export { EditSet, applyEdits, type TextEdit } from "./edits.ts";
export { formatTypeScript } from "./format.ts";
export { MigrationError, InternalError, type Position } from "./errors.ts";
export type { EditCounts } from "./transforms/context.ts";
export { TODO_PREFIX } from "./transforms/shared/todos.ts";
