/**
 * `new data.DataLoader(...)` → `this.setupDataloaders(new data.DataLoader(...))`, so Lite can
 * move batches to the device and, under DDP, shard them with a `DistributedSampler`.
 */
import type { TransformContext } from "../context.ts";
import type { LiteAccess } from "./lite-access.ts";

export function setupDataloaders(ctx: TransformContext, access: LiteAccess): void {
  const { analysis, edits, todos } = ctx;
  for (const { construction } of analysis.dataloaders) {
    if (edits.covers(construction.getStart(), construction.getEnd())) continue;
    const a = access.receiverAt(construction);
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
