import { ClusterEnvironment } from "./cluster_environment.ts";

/**
 * An environment that reads its world size and global rank once, at construction, from the
 * variables its launcher sets; the strategy may change them (`setWorldSize`, `setGlobalRank`)
 * when it starts the processes itself.
 */
export abstract class RankedEnvironment extends ClusterEnvironment {
  constructor(
    private size: number,
    private rank: number,
  ) {
    super();
  }

  worldSize(): number {
    return this.size;
  }

  setWorldSize(size: number): void {
    this.size = size;
  }

  globalRank(): number {
    return this.rank;
  }

  setGlobalRank(rank: number): void {
    this.rank = rank;
  }
}
