/**
 * `new data.DataLoader(...)` → `this.setupDataloaders(new data.DataLoader(...))`, so Lite can
 * move batches to the device and, under DDP, shard them with a `DistributedSampler`. A loader
 * built outside the training code and handed to it (`train(model, loader, 3)`) is set up where
 * run() receives it, as Fabric's docs do: `loader = this.setupDataloaders(loader);`.
 */
import type { VariableDeclaration } from "ts-morph";
import type { Entry } from "../../analysis/types.ts";
import { Node } from "../../morph.ts";
import type { TransformContext } from "../context.ts";
import type { LiteAccess } from "./lite-access.ts";

type FunctionEntry = Extract<Entry, { kind: "function" }>;

export function setupDataloaders(ctx: TransformContext, access: LiteAccess): void {
  const { analysis, edits, todos } = ctx;
  const setUpInRun = new Set<string>();
  const entry = analysis.entry?.kind === "function" ? analysis.entry : null;
  const body = entry?.fn.node.getBody();
  const runBlock = body && Node.isBlock(body) ? body : null;
  for (const { construction, declaration } of analysis.dataloaders) {
    if (edits.covers(construction.getStart(), construction.getEnd())) continue;
    const a = access.receiverAt(construction);
    const param = !a.ok && declaration && entry && runBlock ? runParameterGiven(ctx, entry, declaration) : null;
    if (param && runBlock) {
      if (!setUpInRun.has(param)) {
        setUpInRun.add(param);
        edits.insert(runBlock.getStart() + 1, `\n${param} = this.setupDataloaders(${param});`, "setup-dataloaders");
        ctx.counts.dataloadersWrapped++;
        ctx.notes.push(`${param}, a DataLoader handed to run() → ${param} = this.setupDataloaders(${param}) where run() starts`);
      }
      continue;
    }
    if (!a.ok) {
      todos.add(construction, `wrap this DataLoader in setupDataloaders(...) by hand: ${a.reason}`);
      continue;
    }
    edits.insert(construction.getStart(), `${a.receiver}.setupDataloaders(`, "setup-dataloaders");
    edits.insert(construction.getEnd(), ")", "setup-dataloaders");
    ctx.counts.dataloadersWrapped++;
  }
  if (ctx.counts.dataloadersWrapped > 0) {
    ctx.notes.push(`${ctx.counts.dataloadersWrapped} DataLoader(s) wrapped in setupDataloaders(...)`);
  }
}

/**
 * The parameter of run() that every call of the entry passes `loader` to (`train(model, loader)`
 * → `loader`, a plain identifier parameter), or null.
 */
function runParameterGiven(ctx: TransformContext, entry: FunctionEntry, loader: VariableDeclaration): string | null {
  const params = entry.fn.node.getParameters();
  let found: string | null = null;
  for (const call of entry.calls) {
    const index = call.getArguments().findIndex((arg) => Node.isIdentifier(arg) && ctx.analysis.references.declarationOf(arg) === loader);
    const param = index === -1 ? undefined : params[index];
    if (!param || !Node.isIdentifier(param.getNameNode()) || (found !== null && found !== param.getName())) return null;
    found = param.getName();
  }
  return found;
}
