import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * The fixture runs are one file that keeps two processes busy for most of the suite: started
 * last (vitest's default order puts unknown small files after the codemod project's), they
 * would finish alone on an otherwise idle pool. Started first, the other files fill the gaps.
 */
export class FixturesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const first = (f: TestSpecification) => (f.project.name === "fixtures" ? 0 : 1);
    return sorted.map((f, i) => [f, i] as const).sort(([a, i], [b, j]) => first(a) - first(b) || i - j).map(([f]) => f);
  }
}
