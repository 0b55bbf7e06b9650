/**
 * What the `--to module` input rewrites share (step-closure.ts, full-batch.ts, hand-sliced.ts):
 * each turns a training shape the pipeline does not read into plain code it does, as new script
 * text that migrate.ts analyses again, and says what it did in a note.
 */
import type { Node as TsNode } from "ts-morph";
import { isFunctionLike } from "../../analysis/functions.ts";
import type { ScriptAnalysis } from "../../analysis/types.ts";
import { Node, SyntaxKind } from "../../morph.ts";
import { isLoop } from "./statements.ts";
import type { EditSet } from "../../edits.ts";

export interface InputRewrite {
  text: string;
  /** What was rewritten, for the migration's notes. */
  note: string;
}

/** The one loop around every backward call (through closures, not through other functions), or null. */
export function loopAroundBackward(analysis: ScriptAnalysis): TsNode | null {
  let found: TsNode | null = null;
  for (const b of analysis.backwardCalls) {
    let loop: TsNode | null = null;
    for (let a = b.call.getParent(); a && !loop; a = a.getParent()) {
      if (isLoop(a)) loop = a;
      else if (isFunctionLike(a) && !Node.isArrowFunction(a) && !Node.isFunctionExpression(a)) return null;
    }
    if (!loop || (found && loop !== found)) return null;
    found = loop;
  }
  return found;
}

/** `wanted`, or `wanted2`, ...: a name no identifier of the script spells. */
export function unusedName(analysis: ScriptAnalysis, wanted: string): string {
  const used = new Set(analysis.sourceFile.getDescendantsOfKind(SyntaxKind.Identifier).map((id) => id.getText()));
  let name = wanted;
  for (let i = 2; used.has(name); i++) name = `${wanted}${i}`;
  return name;
}

/**
 * Where code that must run once before an epoch loop goes: above the loop, or above the `try`
 * whose block is the loop alone (the module puts the Trainer's fit inside that try).
 */
export function aboveEpochLoop(loop: TsNode): TsNode {
  const block = loop.getParent();
  const t = block?.getParent();
  if (block && t && Node.isTryStatement(t) && t.getTryBlock() === block) return t;
  return loop;
}

/** Renames one reference, keeping a shorthand property's key (`{ model }` → `{ model: modelFt }`). */
export function renameReference(edits: EditSet, tag: string, id: TsNode, name: string): void {
  const parent = id.getParent();
  const shorthand = parent && Node.isShorthandPropertyAssignment(parent) && parent.getNameNode() === id;
  edits.replace(id.getStart(), id.getEnd(), shorthand ? `${id.getText()}: ${name}` : name, tag);
}
