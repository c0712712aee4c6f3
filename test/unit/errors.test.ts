// Error classes: hierarchy, stable names, messages that say what to do, the class picked per code, and no secrets.
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import {
  KlingAccountError,
  KlingApiError,
  KlingAuthenticationError,
  KlingCallbackError,
  KlingConnectionError,
  KlingError,
  KlingInvalidRequestError,
  KlingPermissionError,
  KlingRateLimitError,
  KlingServerError,
  KlingTaskFailedError,
  KlingTimeoutError,
  KlingValidationError,
  noteExternalTaskId,
} from "../../src/errors.js";
import { apiErrorFrom, badBodyError, stripHtml } from "../../src/request/failure.js";
import { ERROR_CODES } from "../support/error-codes.js";

describe("apiErrorFrom picks the class by code first, status second", () => {
  const byCode = ERROR_CODES;
  it.each(byCode)("HTTP %i code %i → %o", (status, code, cls, retryable) => {
    const error = apiErrorFrom({ status, code, message: "server says", requestId: "req-1" });
    expect(error).toBeInstanceOf(cls);
    expect(error).toBeInstanceOf(KlingApiError);
    expect(error).toBeInstanceOf(KlingError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(cls.name);
    expect(error.retryable).toBe(retryable);
    expect(error.status).toBe(status);
    expect(error.code).toBe(code);
    expect(error.requestId).toBe("req-1");
    expect(error.serverMessage).toBe("server says");
  });

  it("lets the code win over a misleading status", () => {
    expect(apiErrorFrom({ status: 200, code: 1303 })).toBeInstanceOf(KlingRateLimitError);
    expect(apiErrorFrom({ status: 429, code: 1102 })).toBeInstanceOf(KlingAccountError);
  });

  const byStatus: Array<[status: number, cls: new (...args: never[]) => KlingApiError, retryable: boolean]> = [
    [401, KlingAuthenticationError, false],
    [403, KlingPermissionError, false],
    [429, KlingRateLimitError, true],
    [400, KlingInvalidRequestError, false],
    [404, KlingInvalidRequestError, false],
    [422, KlingInvalidRequestError, false],
    [500, KlingServerError, true],
    [502, KlingServerError, true],
    [501, KlingServerError, false],
    [200, KlingApiError, false],
  ];
  it.each(byStatus)("HTTP %i without a code → %o", (status, cls, retryable) => {
    const error = apiErrorFrom({ status });
    expect(error.constructor).toBe(cls);
    expect(error.retryable).toBe(retryable);
    expect(error.code).toBeUndefined();
  });

  it("falls back to the status for an unknown code", () => {
    expect(apiErrorFrom({ status: 503, code: 7777 })).toBeInstanceOf(KlingServerError);
    expect(apiErrorFrom({ status: 503, code: 7777 }).retryable).toBe(true);
  });

  it("keeps retryAfterMs", () => {
    expect(apiErrorFrom({ status: 429, code: 1302, retryAfterMs: 1500 }).retryAfterMs).toBe(1500);
    expect(apiErrorFrom({ status: 429, code: 1302 })).not.toHaveProperty("retryAfterMs");
  });
});

describe("KlingApiError messages", () => {
  it("says what the server said, what happened, the ids, and what to do", () => {
    const error = apiErrorFrom({ status: 429, code: 1102, message: "resource pack exhausted", requestId: "r-42" });
    expect(error.message).toContain("resource pack exhausted");
    expect(error.message).toContain("code 1102");
    expect(error.message).toContain("HTTP 429");
    expect(error.message).toContain("request_id r-42");
    expect(error.message).toContain("recharge or buy a resource pack, then retry");
  });

  it.each([
    [1303, "too many tasks are running for the account's resource pack", "wait for some to finish"],
    [1201, "a parameter was invalid", "fix the parameter named in the message"],
    [1003, "not valid yet", "check the machine clock"],
    [1004, "expired", "check the machine clock"],
  ])("code %i explains itself", (code, happened, next) => {
    const message = apiErrorFrom({ status: 400, code, message: "x" }).message;
    expect(message).toContain(happened);
    expect(message).toContain(next);
  });

  it("still reads well without a server message or request id", () => {
    const error = apiErrorFrom({ status: 502 });
    expect(error.message).toBe("the server failed (HTTP 502). Next: retry later.");
  });
});

describe("the other classes", () => {
  it("KlingConnectionError keeps cause and an optional status", () => {
    const cause = new TypeError("fetch failed");
    const error = new KlingConnectionError("no answer", { cause, status: 502 });
    expect(error.name).toBe("KlingConnectionError");
    expect(error.cause).toBe(cause);
    expect(error.status).toBe(502);
    expect(new KlingConnectionError("x")).not.toHaveProperty("status");
  });

  it("KlingTimeoutError tells an attempt timeout from a wait timeout", () => {
    const attempt = new KlingTimeoutError({ kind: "attempt", timeoutMs: 30_000, request: "GET /v1/x" });
    expect(attempt.message).toContain("GET /v1/x got no answer within 30000 ms");
    expect(attempt.message).not.toContain("waitForTask");
    const wait = new KlingTimeoutError({ kind: "wait", timeoutMs: 600_000, taskId: "866", lastStatus: "processing" });
    expect(wait.message).toContain("Task 866");
    expect(wait.message).toContain("processing");
    expect(wait.message).toContain("keeps running on the server");
    expect(wait.message).toContain('waitForTask("866")');
    expect(wait).toMatchObject({
      name: "KlingTimeoutError",
      kind: "wait",
      taskId: "866",
      lastStatus: "processing",
      timeoutMs: 600_000,
    });
  });

  it("KlingValidationError names the field", () => {
    const error = new KlingValidationError("video_url", "video_url must be an absolute http(s) URL");
    expect(error).toMatchObject({ name: "KlingValidationError", field: "video_url" });
  });

  it("KlingTaskFailedError carries the task and its reason", () => {
    const task = {
      task_id: "866",
      task_status: "failed" as const,
      task_status_msg: "video too short",
      task_info: { external_task_id: "job-1" },
    };
    const error = new KlingTaskFailedError(task);
    expect(error.task).toBe(task);
    expect(error.message).toContain("866");
    expect(error.message).toContain("video too short");
    expect(error.message).toContain("job-1");
  });

  it("KlingCallbackError carries a reason", () => {
    const error = new KlingCallbackError("parsed_body", "pass the raw body, not parsed JSON");
    expect(error).toMatchObject({ name: "KlingCallbackError", reason: "parsed_body" });
  });

  it("every class has a stable own name that survives minification of the class", () => {
    const all = [
      new KlingError("x"),
      apiErrorFrom({ status: 500 }),
      new KlingConnectionError("x"),
      new KlingTimeoutError({ kind: "attempt" }),
      new KlingValidationError("f", "x"),
      new KlingTaskFailedError({ task_id: "1", task_status: "failed" }),
      new KlingCallbackError("invalid_json", "x"),
    ];
    for (const error of all) {
      expect(Object.hasOwn(error, "name")).toBe(true);
      expect(error.name).toMatch(/^Kling\w*Error$/);
      expect(error).toBeInstanceOf(KlingError);
    }
  });
});

describe("externalTaskId", () => {
  it("is named in the message when given to the constructor", () => {
    const error = new KlingConnectionError("POST /v1/audio/video-to-audio could not reach the server.", {
      externalTaskId: "job-7",
    });
    expect(error.externalTaskId).toBe("job-7");
    expect(error.message).toContain(
      "the task may have been created: find it by external_task_id=job-7".replace("the", "The"),
    );
  });

  it("can be added to an existing error, message and stack included, once", () => {
    const error = apiErrorFrom({ status: 500, code: 5000, message: "internal" });
    noteExternalTaskId(error, "job-8");
    noteExternalTaskId(error, "job-8");
    expect(error.externalTaskId).toBe("job-8");
    expect(error.message.match(/external_task_id=job-8/g)).toHaveLength(1);
    expect(error.stack).toContain("external_task_id=job-8");
  });
});

describe("bodies that are not Kling JSON", () => {
  it("strips an HTML page to its title", () => {
    expect(stripHtml("<html><head><title>502 Bad Gateway</title></head><body><h1>oops</h1></body></html>")).toBe(
      "502 Bad Gateway",
    );
    expect(stripHtml("<p>Hello&nbsp;<b>world</b></p><script>var key='x'</script>")).toBe("Hello world");
    expect(stripHtml("x".repeat(500)).length).toBe(200);
  });

  it("badBodyError names the status, the content type and what to do", () => {
    const error = badBodyError({
      request: "GET /v1/audio/video-to-audio/1",
      status: 502,
      contentType: "text/html; charset=utf-8",
      text: "<html><title>502 Bad Gateway</title><body>cloudflare</body></html>",
      truncated: false,
    });
    expect(error).toBeInstanceOf(KlingConnectionError);
    expect(error.status).toBe(502);
    expect(error.message).toContain("HTTP 502");
    expect(error.message).toContain("text/html");
    expect(error.message).toContain('"502 Bad Gateway"');
    expect(error.message).not.toContain("<");
    expect(error.message).toContain("retry later");
  });

  it("badBodyError reports truncated JSON", () => {
    const error = badBodyError({
      request: "GET /x",
      status: 200,
      contentType: "application/json",
      text: '{"code":0,"da',
      truncated: true,
    });
    expect(error.message).toContain("truncated JSON");
    expect(error.message).not.toContain('{"code"');
  });
});

describe("secrets", () => {
  const KEY = "sk-super-secret-key-0123456789";
  it("errors hold no secrets in message, JSON or inspect output", () => {
    const errors: KlingError[] = [
      apiErrorFrom({ status: 401, code: 1002, message: "invalid token", requestId: "r" }),
      new KlingConnectionError("x", { cause: new TypeError("fetch failed") }),
      new KlingTimeoutError({ kind: "attempt", timeoutMs: 1 }),
    ];
    for (const error of errors) {
      expect(error.message).not.toContain(KEY);
      expect(JSON.stringify(error)).not.toContain(KEY);
      expect(inspect(error, { depth: 10, showHidden: true })).not.toContain(KEY);
    }
  });

  it("JSON.stringify shows the useful fields", () => {
    const json = JSON.parse(
      JSON.stringify(apiErrorFrom({ status: 429, code: 1303, message: "busy", requestId: "r-1" })),
    );
    expect(json).toMatchObject({
      name: "KlingRateLimitError",
      status: 429,
      code: 1303,
      requestId: "r-1",
      retryable: true,
      serverMessage: "busy",
    });
  });
});
