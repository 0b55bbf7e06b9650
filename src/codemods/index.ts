/**
 * `lightning-ts/codemods`: the engine behind `lit-migrate`, for use from code.
 *
 *   import { migrate } from "lightning-ts/codemods";
 *   const result = await migrate(source, { to: "lite", fileName: "train.ts" });
 *   if (result.status === "migrated") writeFileSync("train.lite.ts", result.output);
 */
export { migrate, DEFAULT_CLASS_NAME } from "./migrate";
export type { MigrateOptions, MigrationResult, MigrationTarget, MigrationTodo } from "./migrate";
export { parseScript, type ParsedScript } from "./source";
export { analyzeScript } from "./analysis/analyze";
export type * from "./analysis/types";
export { EditSet, applyEdits, type TextEdit } from "./edits";
export { formatTypeScript } from "./format";
export { MigrationError, InternalError, type Position } from "./errors";
export type { EditCounts } from "./transforms/context";
export { TODO_PREFIX } from "./transforms/shared/todos";
