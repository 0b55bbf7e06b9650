/**
 * The data order in checkpoints. A shuffling `data.DataLoader` draws each epoch's permutation
 * from its own `Generator` (src/torch/data/dataloader.ts); saving that generator's state and
 * restoring it into the loader a resumed run builds makes the resumed epochs visit the data in
 * exactly the order the uninterrupted run would have. Generators are found on the loader, its
 * sampler, and its batch sampler's sampler (a `RandomSampler` given explicitly).
 */
import { DataLoader } from "../../torch/data/dataloader.ts";
import { Generator } from "../../torch/random.ts";
import { rankZeroWarn } from "../utilities/rank_zero.ts";
import type { DataSource } from "../trainer/connectors/data_connector.ts";

export function generatorsOf(loader: DataSource): Generator[] {
  if (!(loader instanceof DataLoader)) return [];
  const found: Generator[] = [];
  const candidates: unknown[] = [
    loader.generator,
    (loader.sampler as { generator?: unknown }).generator,
    ((loader.batchSampler as { sampler?: { generator?: unknown } }).sampler ?? {}).generator,
  ];
  for (const g of candidates) if (g instanceof Generator && !found.includes(g)) found.push(g);
  return found;
}

export function captureGeneratorStates(loader: DataSource): number[][] {
  return generatorsOf(loader).map((g) => g.getState());
}

export function restoreGeneratorStates(loader: DataSource, states: number[][], what: string): void {
  const gens = generatorsOf(loader);
  if (gens.length !== states.length) {
    if (states.length > 0 || gens.length > 0) {
      rankZeroWarn(
        `The checkpoint holds ${states.length} random generator state(s) for the ${what} but the dataloader has ${gens.length}: ` +
          "its data order is not restored (the resumed run shuffles differently from an uninterrupted one).",
      );
    }
    return;
  }
  gens.forEach((g, i) => g.setState(states[i]));
}
