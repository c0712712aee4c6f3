// Vitest's file order, with the journeys project (the installed package) last: its files wait for the pack that
// test/setup/package.ts starts in the background, so the other projects' files run meanwhile.
import { BaseSequencer, type TestSpecification } from "vitest/node";

export class JourneysLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const isJourney = (file: TestSpecification) => file.project.name === "journeys";
    return [...sorted.filter((f) => !isJourney(f)), ...sorted.filter(isJourney)];
  }
}
