// `kling-video-to-audio/mock`: startMock for tests and dev servers, loading Prism (an optional peer) only when called.
import { isPrismMissing, PRISM_INSTALL } from "./command.js";
import type { MockOptions, RunningMock } from "./types.js";

export type { Delivery, DeliveryAttempt, MockOptions, MockTaskStatus, RunningMock } from "./types.js";

/** The message when Prism is not installed: what to install, nothing else (no stack to read through). */
export const MOCK_NEEDS_PRISM = `kling-video-to-audio/mock needs Prism: ${PRISM_INSTALL}`;

/**
 * Starts the mock: Prism on the published spec behind the lifecycle layer (tasks that progress, playable media,
 * delivered callbacks, errors that name the field, no key needed). See docs/mock.md.
 *
 * Prism is an optional peer dependency, imported here on first use, so importing this module never fails.
 * @throws Error with `code` `"ERR_PRISM_MISSING"` and {@link MOCK_NEEDS_PRISM} as its message when Prism is not
 * installed.
 */
export async function startMock(options: MockOptions = {}): Promise<RunningMock> {
  let lifecycle: typeof import("./lifecycle.js");
  try {
    lifecycle = await import("./lifecycle.js");
  } catch (error) {
    if (!isPrismMissing(error)) throw error;
    throw Object.assign(new Error(MOCK_NEEDS_PRISM), { code: "ERR_PRISM_MISSING" });
  }
  return lifecycle.startMock(options);
}
