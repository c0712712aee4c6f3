// Input checks: each bad create body is refused with a KlingValidationError naming the field, and agrees with the spec.
import { describe, expect, it } from "vitest";
import {
  checkCreateInput,
  checkPageQuery,
  checkTaskId,
  MAX_PROMPT_LENGTH,
  PAGE_NUM_MAX,
  PAGE_SIZE_MAX,
} from "../../src/request/input.js";
import { spec, validatorAt } from "../support/spec.js";
import { fieldOf } from "../support/validation.js";

const url = "https://example.com/clip.mp4";

describe("checkCreateInput", () => {
  it.each([
    ["both video fields", { video_id: "1", video_url: url }, "video_id"],
    ["neither video field", { bgm_prompt: "piano" }, "video_url"],
    ["only empty video fields", { video_id: "", video_url: "" }, "video_url"],
    ["a relative video_url", { video_url: "/clip.mp4" }, "video_url"],
    ["an ftp video_url", { video_url: "ftp://example.com/clip.mp4" }, "video_url"],
    ["a broken video_url", { video_url: "https://exa mple.com/x" }, "video_url"],
    ["a non-http callback_url", { video_url: url, callback_url: "mailto:a@example.com" }, "callback_url"],
    ["a 201-code-point prompt", { video_url: url, sound_effect_prompt: "🎵".repeat(201) }, "sound_effect_prompt"],
    ["a non-string prompt", { video_url: url, bgm_prompt: 5 }, "bgm_prompt"],
    ["a string asmr_mode", { video_url: url, asmr_mode: "true" }, "asmr_mode"],
    ["a number external_task_id", { video_url: url, external_task_id: 5 }, "external_task_id"],
    ["an unknown field", { video_url: url, bgm_promt: "typo" }, "bgm_promt"],
    ["a number video_id", { video_id: 42 }, "video_id"],
  ])("refuses %s", (_label, input, field) => {
    expect(fieldOf(() => checkCreateInput(input))).toBe(field);
    // The spec (and so Prism and Kling) refuses the same body.
    expect(validatorAt("#/components/schemas/CreateTaskRequest")(input)).toBe(false);
  });

  it("refuses what is not an object", () => {
    for (const input of [null, "x", 1, [], undefined]) expect(fieldOf(() => checkCreateInput(input))).toBe("input");
  });

  it("suggests the field a typo meant", () => {
    expect(() => checkCreateInput({ video_url: url, bgm_promt: "x" })).toThrow(/did you mean "bgm_prompt"/);
  });

  it("drops an empty video field beside the other one, as gateways send it", () => {
    expect(checkCreateInput({ video_id: "866534912876544067", video_url: "" })).toEqual({
      video_id: "866534912876544067",
    });
  });

  it("accepts 200 code points and keeps every field", () => {
    const input = {
      video_url: url,
      sound_effect_prompt: "🎵".repeat(200),
      bgm_prompt: "slow ambient piano",
      asmr_mode: false,
      external_task_id: "job-1",
      callback_url: "https://example.com/hook",
    };
    expect(checkCreateInput(input)).toEqual(input);
    expect(validatorAt("#/components/schemas/CreateTaskRequest")(input)).toBe(true);
  });
});

describe("the client's limits are the spec's", () => {
  it("prompt length and page bounds", () => {
    const common = spec.components.schemas.CreateTaskCommon.properties;
    expect(common.sound_effect_prompt.maxLength).toBe(MAX_PROMPT_LENGTH);
    expect(common.bgm_prompt.maxLength).toBe(MAX_PROMPT_LENGTH);
    const params = Object.fromEntries(
      spec.paths["/v1/audio/video-to-audio"].get.parameters.map((p: any) => [p.name, p.schema]),
    );
    expect(params.pageNum.maximum).toBe(PAGE_NUM_MAX);
    expect(params.pageSize.maximum).toBe(PAGE_SIZE_MAX);
  });
});

describe("checkTaskId and checkPageQuery", () => {
  it("refuse empty ids and out-of-range pages", () => {
    expect(fieldOf(() => checkTaskId(""))).toBe("taskId");
    expect(fieldOf(() => checkTaskId(undefined))).toBe("taskId");
    expect(fieldOf(() => checkPageQuery({ pageSize: 501 }))).toBe("pageSize");
    expect(fieldOf(() => checkPageQuery({ pageNum: 0 }))).toBe("pageNum");
    expect(fieldOf(() => checkPageQuery({ pageNum: 1.5 }))).toBe("pageNum");
    expect(fieldOf(() => checkPageQuery({ pageNum: 1000, pageSize: 500 }))).toBeUndefined();
  });
});
