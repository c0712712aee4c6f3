// Vitest's file order, by project, in the order their global setups' background jobs are ready: unit files need none
// and run at once; contract files wait for Prism (about 3 s), integration files for the build, the journeys for the
// pack and its installs (test/setup/package.ts), which run meanwhile.
import { BaseSequencer, type TestSpecification } from "vitest/node";

const ORDER = ["unit", "contract", "integration", "perf", "journeys"];

export class ByProject extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: TestSpecification) => {
      const at = ORDER.indexOf(file.project.name);
      return at < 0 ? ORDER.length : at;
    };
    // Array.prototype.sort is stable: within a project, vitest's own order (slowest first, from its cache) stays.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}
