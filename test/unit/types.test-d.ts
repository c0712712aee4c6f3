// Type-level tests of the public API: the XOR create body, results typed from generated/, option shapes.
import { describe, expectTypeOf, it } from "vitest";
import type { components } from "../../generated/openapi.js";
import {
  type CreateTaskInput,
  createClient,
  type KlingApiError,
  type KlingError,
  type KlingTimeoutError,
  type Task,
  type TaskStatus,
  type VideoToAudioClient,
} from "../../src/index.js";

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
    // @ts-expect-error both video fields, the literal way
    void kling.createTask({
      video_url: "https://example.com/a.mp4",
      video_id: "866534912876544067",
      external_task_id: "",
    });
    // @ts-expect-error neither video field, with the others empty
    void kling.createTask({ external_task_id: "", callback_url: "" });
    // @ts-expect-error a typo'd field
    void kling.createTask({ video_url: "https://example.com/a.mp4", bgm_promt: "piano" });
    // @ts-expect-error asmr_mode is a boolean
    void kling.createTask({ video_url: "https://example.com/a.mp4", asmr_mode: "yes" });
  });

  it('takes "" for what Kling\'s own example and gateways send empty (read as not given)', () => {
    expectTypeOf({
      video_url: "https://example.com/a.mp4",
      external_task_id: "",
      callback_url: "",
    } as const).toExtend<CreateTaskInput>();
    expectTypeOf({ video_id: "", video_url: "https://example.com/a.mp4" } as const).toExtend<CreateTaskInput>();
    expectTypeOf({ video_id: "866534912876544067", video_url: "" } as const).toExtend<CreateTaskInput>();
    void kling.createTask({ video_id: "866534912876544067", video_url: "", callback_url: "" });
    // the unused field is typed as exactly "" (not string), which is what keeps "both" a compile error
    expectTypeOf<components["schemas"]["CreateTaskWithVideoId"]["video_url"]>().toEqualTypeOf<"" | undefined>();
    expectTypeOf<components["schemas"]["CreateTaskWithVideoUrl"]["video_id"]>().toEqualTypeOf<"" | undefined>();
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
    expectTypeOf<NonNullable<NonNullable<Task["task_result"]>["audios"]>[number]["url_mp3"]>().toEqualTypeOf<
      string | undefined
    >();
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
      | {
          timeoutMs?: number | undefined;
          signal?: AbortSignal | undefined;
          onProgress?: ((task: Task) => void) | undefined;
        }
      | undefined
    >();
  });

  it("share one base", () => {
    expectTypeOf<KlingApiError>().toExtend<KlingError>();
    expectTypeOf<KlingTimeoutError>().toExtend<KlingError>();
    expectTypeOf<KlingApiError["code"]>().toEqualTypeOf<number | undefined>();
    expectTypeOf<KlingTimeoutError["taskId"]>().toEqualTypeOf<string | undefined>();
  });
});
