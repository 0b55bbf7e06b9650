/**
 * The package's `lightning-ts:source` export condition: `lightning-ts` and `lightning-ts/torch`
 * resolve to `src/*.ts` under it, to `dist/` (what npm ships) without it. This repository's own
 * runs (tests, `--verify` of the fixtures, `--typecheck`) work on the sources, so that no build
 * stands between an edit and its test; an installed copy has no `src/` and never sets it.
 */
export const SOURCE_CONDITION = "lightning-ts:source";

/** Whether this code is running from the TypeScript sources (tsx, vitest) rather than from dist/. */
export function runningFromSources(): boolean {
  return import.meta.url.endsWith(".ts");
}

/** Node flags for a child process that must resolve lightning-ts the way this process does. */
export function sourceConditionFlags(): string[] {
  return runningFromSources() ? [`--conditions=${SOURCE_CONDITION}`] : [];
}
