/**
 * The two ways a migration stops.
 *
 * `MigrationError` is the user's problem (a parse error, no training loop, a construct the
 * codemod does not convert): the CLI prints it as `file:line:col  reason` and exits 2, without a
 * stack trace. `InternalError` is ours (two transforms edited the same text, the generated code
 * does not parse): the CLI still prints one line, but says it is a bug.
 */

/** 1-based line and column, like every editor and compiler prints them. */
export interface Position {
  line: number;
  col: number;
}

export class MigrationError extends Error {
  constructor(
    readonly reason: string,
    readonly position: Position = { line: 1, col: 1 },
    /** Not a plain training script at all (a directory run counts it as unchanged). */
    readonly notApplicable = false,
    /** Nothing in it trains (no backward call): a directory of only such files has no scripts to migrate. */
    readonly noTraining = false,
  ) {
    super(reason);
    this.name = "MigrationError";
  }
}

export class InternalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InternalError";
  }
}

/** Position of a character offset in `text`. */
export function positionAt(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: offset - lineStart + 1 };
}
