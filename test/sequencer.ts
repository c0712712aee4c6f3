// Vitest's file order, with the tests of the installed package last: they wait for the pack and install that
// test/global-setup.ts starts in the background, so the other files (one worker on 2 cores) run meanwhile.
import { BaseSequencer, type TestSpecification } from "vitest/node";
import { needsPackage } from "./support/journey-package.js";

export class PackageTestsLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    return [...sorted.filter((f) => !needsPackage(f.moduleId)), ...sorted.filter((f) => needsPackage(f.moduleId))];
  }
}
