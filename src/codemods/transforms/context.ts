/**
 * What every transform receives: the analysis (read only), the shared edit list, the TODO list,
 * and counters/notes for the summary. Transforms are plain functions run in a fixed order by
 * the pipeline (`../lite.ts`, `../module.ts`); a later one may ask whether earlier edits removed
 * some code (`edits.covers`), nothing else flows between them.
 */
import type { ScriptAnalysis } from "../analysis/types.ts";
import type { EditSet } from "../edits.ts";
import type { TodoList } from "./shared/todos.ts";

/** Counts shown in the summary and in `--json` (`edits`). */
export interface EditCounts {
  deviceMovesStripped: number;
  deviceConditionalsRemoved: number;
  deviceVariablesRemoved: number;
  deviceParametersRemoved: number;
  aliasesCollapsed: number;
  backwardRewritten: number;
  setupCalls: number;
  dataloadersWrapped: number;
  checkpointCallsRewritten: number;
  clipGradientsRewritten: number;
  helpersGivenLite: number;
  importsAdded: number;
  importsRemoved: number;
}

export function emptyCounts(): EditCounts {
  return {
    deviceMovesStripped: 0,
    deviceConditionalsRemoved: 0,
    deviceVariablesRemoved: 0,
    deviceParametersRemoved: 0,
    aliasesCollapsed: 0,
    backwardRewritten: 0,
    setupCalls: 0,
    dataloadersWrapped: 0,
    checkpointCallsRewritten: 0,
    clipGradientsRewritten: 0,
    helpersGivenLite: 0,
    importsAdded: 0,
    importsRemoved: 0,
  };
}

export interface TransformContext {
  /** What the script is migrated to (messages that name the runtime differ). */
  target: "lite" | "module";
  /** Whether the script may `await` at its top level (an ES module; not CommonJS). */
  topLevelAwait: boolean;
  analysis: ScriptAnalysis;
  edits: EditSet;
  todos: TodoList;
  counts: EditCounts;
  /** "What moved where", one line each, with input line numbers. */
  notes: string[];
  /** Line (1-based) of an original offset, for notes. */
  lineOf(offset: number): number;
}
