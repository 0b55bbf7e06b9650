import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * The longest files first: the type-check (one tsc process, ~11 s of one core) and the fixture
 * runs (two processes busy for most of the suite). Started last (vitest's default order puts
 * small files of unknown duration after the codemod project's), they would finish alone on an
 * otherwise idle pool; started first, the other files fill the gaps.
 */
export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const first = (f: TestSpecification) => (f.moduleId.endsWith("typecheck.test.ts") ? 0 : f.project.name === "programs" ? 1 : 2);
    return sorted.map((f, i) => [f, i] as const).sort(([a, i], [b, j]) => first(a) - first(b) || i - j).map(([f]) => f);
  }
}
