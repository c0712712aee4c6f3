// Type-level tests of the public API: the XOR create body, results typed from generated/, option shapes.
import { describe, expectTypeOf, it } from "vitest";
import type { components } from "../generated/openapi.js";
import {
  createClient,
  type CreateTaskInput,
  KlingApiError,
  KlingError,
  KlingTimeoutError,
  type Task,
  type TaskStatus,
  type VideoToAudioClient,
} from "../src/index.js";

declare const kling: VideoToAudioClient;

describe("CreateTaskInput", () => {
  it("is the spec's request body", () => {
    expectTypeOf<CreateTaskInput>().toEqualTypeOf<components["schemas"]["CreateTaskRequest"]>();
  });

  it("takes exactly one of video_id and video_url", () => {
    expectTypeOf({ video_url: "https://example.com/a.mp4" }).toExtend<CreateTaskInput>();
    expectTypeOf({ video_id: "866534912876544067", asmr_mode: true }).toExtend<CreateTaskInput>();
    expectTypeOf({ video_id: "1", video_url: "https://example.com/a.mp4" }).not.toExtend<CreateTaskInput>();
    expectTypeOf({ bgm_prompt: "piano" }).not.toExtend<CreateTaskInput>();
    // @ts-expect-error both video fields
    void kling.run({ video_id: "1", video_url: "https://example.com/a.mp4" });
    // @ts-expect-error neither video field
    void kling.createTask({ bgm_prompt: "piano" });
    // @ts-expect-error a typo'd field
    void kling.createTask({ video_url: "https://example.com/a.mp4", bgm_promt: "piano" });
    // @ts-expect-error asmr_mode is a boolean
    void kling.createTask({ video_url: "https://example.com/a.mp4", asmr_mode: "yes" });
  });
});

describe("results", () => {
  it("are the generated Task", () => {
    expectTypeOf<Task>().toEqualTypeOf<components["schemas"]["Task"]>();
    expectTypeOf(kling.run).returns.toEqualTypeOf<Promise<Task>>();
    expectTypeOf(kling.getTask).returns.toEqualTypeOf<Promise<Task>>();
    expectTypeOf(kling.listTasks).returns.toEqualTypeOf<Promise<Task[]>>();
    expectTypeOf(kling.tasks()).toEqualTypeOf<AsyncIterable<Task>>();
    expectTypeOf<Task["task_status"]>().toEqualTypeOf<TaskStatus>();
    expectTypeOf<TaskStatus>().toEqualTypeOf<"submitted" | "processing" | "succeed" | "failed">();
    expectTypeOf<NonNullable<NonNullable<Task["task_result"]>["audios"]>[number]["url_mp3"]>().toEqualTypeOf<string | undefined>();
  });

  it("keep the raw openapi-fetch client typed", () => {
    expectTypeOf(kling.raw.GET).toBeFunction();
  });
});

describe("options and errors", () => {
  it("accept the documented options", () => {
    expectTypeOf(createClient).parameter(0).toExtend<
      | {
          apiKey?: string | undefined;
          baseUrl?: string | undefined;
          timeoutMs?: number | undefined;
          maxRetries?: number | undefined;
          dangerouslyAllowBrowser?: boolean | undefined;
        }
      | undefined
    >();
    // @ts-expect-error unknown option
    createClient({ apiKeys: "x" });
    expectTypeOf(kling.waitForTask).parameter(1).toExtend<
      { timeoutMs?: number | undefined; signal?: AbortSignal | undefined; onProgress?: ((task: Task) => void) | undefined } | undefined
    >();
  });

  it("share one base", () => {
    expectTypeOf<KlingApiError>().toExtend<KlingError>();
    expectTypeOf<KlingTimeoutError>().toExtend<KlingError>();
    expectTypeOf<KlingApiError["code"]>().toEqualTypeOf<number | undefined>();
    expectTypeOf<KlingTimeoutError["taskId"]>().toEqualTypeOf<string | undefined>();
  });
});
