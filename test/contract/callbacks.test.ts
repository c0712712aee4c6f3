// Callbacks: Standard Webhooks signing and verification, both body dialects, error reasons, and Prism's real callback.
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { validateCallbackPayload } from "../../generated/callback-validator.js";
import { CALLBACK_VALIDATOR_PATH, compileCallbackValidator } from "../../scripts/compile-validators.js";
import { parseCallback, signCallback, verifyCallback } from "../../src/callbacks.js";
import { KlingCallbackError, type KlingCallbackErrorReason, KlingError } from "../../src/errors.js";
import { prismUrl as runPrismUrl } from "../support/setup-jobs.js";
import { spec, validatorAt } from "../support/spec.js";

// The official Standard Webhooks test vector (standard-webhooks/standard-webhooks, libraries' tests).
const VECTOR = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};

const SECRET = "whsec_c2VjcmV0LWZvci1rbGluZy1jYWxsYmFjay10ZXN0cw=="; // base64("secret-for-kling-callback-tests")
const OTHER_SECRET = "whsec_b3RoZXItc2VjcmV0LWZvci1rbGluZy10ZXN0cw=="; // base64("other-secret-for-kling-tests")
const T = 1764024390; // Unix seconds
const atT =
  (offsetSec = 0) =>
  () =>
    (T + offsetSec) * 1000;

const callbackOperation =
  spec.paths["/v1/audio/video-to-audio"].post.callbacks.taskStatus["{$request.body#/callback_url}"].post;
const examples: Record<string, { value: unknown }> = callbackOperation.requestBody.content["application/json"].examples;
// Pretty-printed, as a sender might: the bytes differ from JSON.stringify of the same value.
const BODY = JSON.stringify(examples.succeed?.value, null, 2);

async function rejection(promise: Promise<unknown> | (() => unknown)): Promise<KlingCallbackError> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    expect(error).toBeInstanceOf(KlingCallbackError);
    expect(error).toBeInstanceOf(KlingError);
    return error as KlingCallbackError;
  }
  throw new Error("expected a KlingCallbackError");
}

async function expectReason(
  promise: Promise<unknown> | (() => unknown),
  reason: KlingCallbackErrorReason,
): Promise<KlingCallbackError> {
  const error = await rejection(promise);
  expect(error.reason).toBe(reason);
  expect(error.name).toBe("KlingCallbackError");
  return error;
}

describe("signCallback / verifyCallback (Standard Webhooks)", () => {
  it("reproduces the official test vector (confirmed with node:crypto)", async () => {
    const key = Buffer.from(VECTOR.secret.slice("whsec_".length), "base64");
    const nodeSig = createHmac("sha256", key)
      .update(`${VECTOR.id}.${VECTOR.timestamp}.${VECTOR.payload}`)
      .digest("base64");
    expect(`v1,${nodeSig}`).toBe(VECTOR.signature);

    const headers = await signCallback(VECTOR.payload, {
      secret: VECTOR.secret,
      id: VECTOR.id,
      timestamp: VECTOR.timestamp,
    });
    expect(headers).toEqual({
      "webhook-id": VECTOR.id,
      "webhook-timestamp": String(VECTOR.timestamp),
      "webhook-signature": VECTOR.signature,
    });
  });

  it("accepts the vector's signature, then rejects its body as not a Kling callback", async () => {
    // The signature check passes (else the reason would be invalid_signature); `{"test": ...}` is no task.
    const headers = {
      "webhook-id": VECTOR.id,
      "webhook-timestamp": String(VECTOR.timestamp),
      "webhook-signature": VECTOR.signature,
    };
    const options = { secret: VECTOR.secret, now: () => VECTOR.timestamp * 1000 };
    await expectReason(verifyCallback({ headers, body: VECTOR.payload }, options), "invalid_payload");
    // The same without the whsec_ prefix: the bare base64 secret is accepted too.
    await expectReason(
      verifyCallback({ headers, body: VECTOR.payload }, { ...options, secret: VECTOR.secret.slice(6) }),
      "invalid_payload",
    );
  });

  it("round-trips sign → verify and returns the task", async () => {
    const headers = await signCallback(BODY, { secret: SECRET, timestamp: T });
    expect(headers["webhook-id"]).toMatch(/^msg_[0-9a-f]{24}$/);
    const task = await verifyCallback({ headers, body: BODY }, { secret: SECRET, now: atT() });
    expect(task).toEqual(examples.succeed?.value);
    expect(task.task_result?.audios?.[0]?.url_mp3).toMatch(/audio\.mp3$/);
  });

  it("defaults the timestamp to now and the id to a fresh random one", async () => {
    const a = await signCallback(BODY, { secret: SECRET });
    const b = await signCallback(BODY, { secret: SECRET });
    expect(Math.abs(Number(a["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(5);
    expect(a["webhook-id"]).not.toBe(b["webhook-id"]);
    await expect(verifyCallback({ headers: a, body: BODY }, { secret: SECRET })).resolves.toMatchObject({
      task_status: "succeed",
    });
  });

  it("rejects a signature made with another secret", async () => {
    const headers = await signCallback(BODY, { secret: OTHER_SECRET, timestamp: T });
    const error = await expectReason(
      verifyCallback({ headers, body: BODY }, { secret: SECRET, now: atT() }),
      "invalid_signature",
    );
    expect(error.message).toMatch(/not the API key/);
  });

  it("rejects a body with one byte changed", async () => {
    const headers = await signCallback(BODY, { secret: SECRET, timestamp: T });
    const bytes = new TextEncoder().encode(BODY);
    for (const index of [0, bytes.length >> 1, bytes.length - 1]) {
      const tampered = bytes.slice();
      tampered[index] = (tampered[index] ?? 0) ^ 0x01;
      await expectReason(
        verifyCallback({ headers, body: tampered }, { secret: SECRET, now: atT() }),
        "invalid_signature",
      );
    }
  });

  it("rejects the same JSON parsed and serialized again: only the raw body verifies", async () => {
    const headers = await signCallback(BODY, { secret: SECRET, timestamp: T });
    const reserialized = JSON.stringify(JSON.parse(BODY));
    expect(JSON.parse(reserialized)).toEqual(JSON.parse(BODY));
    const error = await expectReason(
      verifyCallback({ headers, body: reserialized }, { secret: SECRET, now: atT() }),
      "invalid_signature",
    );
    expect(error.message).toMatch(/raw bytes/);
  });

  it("passes when any one of several v1 signatures matches (secret rotation)", async () => {
    const good = (await signCallback(BODY, { secret: SECRET, id: "msg_1", timestamp: T }))["webhook-signature"];
    const bad = (await signCallback(BODY, { secret: OTHER_SECRET, id: "msg_1", timestamp: T }))["webhook-signature"];
    for (const signature of [`${bad} ${good}`, `${good} ${bad}`, `v1,!!!notbase64 ${good}`, `${bad}, ${good}`]) {
      const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(T), "webhook-signature": signature };
      await expect(verifyCallback({ headers, body: BODY }, { secret: SECRET, now: atT() })).resolves.toMatchObject({
        task_status: "succeed",
      });
    }
    const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(T), "webhook-signature": `${bad} ${bad}` };
    await expectReason(verifyCallback({ headers, body: BODY }, { secret: SECRET, now: atT() }), "invalid_signature");
  });

  it("ignores signatures of other versions (v2, ...)", async () => {
    const good = (await signCallback(BODY, { secret: SECRET, id: "msg_1", timestamp: T }))[
      "webhook-signature"
    ] as string;
    const asV2 = good.replace(/^v1,/, "v2,");
    const base = { "webhook-id": "msg_1", "webhook-timestamp": String(T) };
    const onlyV2 = await expectReason(
      verifyCallback({ headers: { ...base, "webhook-signature": asV2 }, body: BODY }, { secret: SECRET, now: atT() }),
      "invalid_signature",
    );
    expect(onlyV2.message).toMatch(/no v1 signature/);
    await expect(
      verifyCallback(
        { headers: { ...base, "webhook-signature": `${asV2} ${good}` }, body: BODY },
        { secret: SECRET, now: atT() },
      ),
    ).resolves.toMatchObject({ task_id: "866889456698785798" });
  });

  it("accepts timestamps up to toleranceSec away and rejects one second more, either way", async () => {
    const headers = await signCallback(BODY, { secret: SECRET, timestamp: T });
    const verifyAt = (offsetSec: number, toleranceSec?: number) =>
      verifyCallback(
        { headers, body: BODY },
        { secret: SECRET, now: atT(offsetSec), ...(toleranceSec === undefined ? {} : { toleranceSec }) },
      );
    await expect(verifyAt(300)).resolves.toBeDefined();
    await expect(verifyAt(-300)).resolves.toBeDefined();
    await expect(verifyAt(300.999)).resolves.toBeDefined(); // the clock is read in whole seconds
    const late = await expectReason(verifyAt(301), "timestamp_out_of_tolerance");
    expect(late.message).toMatch(/301 s ago.*300 s tolerance/);
    const early = await expectReason(verifyAt(-301), "timestamp_out_of_tolerance");
    expect(early.message).toMatch(/in the future/);
    await expect(verifyAt(30, 30)).resolves.toBeDefined();
    await expectReason(verifyAt(31, 30), "timestamp_out_of_tolerance");
  });

  it("reports missing or malformed webhook-* headers, naming them", async () => {
    const full = await signCallback(BODY, { secret: SECRET, timestamp: T });
    for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
      const headers = { ...full };
      delete headers[name];
      const error = await expectReason(
        verifyCallback({ headers, body: BODY }, { secret: SECRET, now: atT() }),
        "missing_headers",
      );
      expect(error.message).toContain(name);
    }
    const none = await expectReason(
      verifyCallback({ headers: {}, body: BODY }, { secret: SECRET, now: atT() }),
      "missing_headers",
    );
    expect(none.message).toMatch(/webhook-id, webhook-timestamp, webhook-signature headers/);
    const inMs = { ...full, "webhook-timestamp": `${T * 1000}x` };
    await expectReason(
      verifyCallback({ headers: inMs, body: BODY }, { secret: SECRET, now: atT() }),
      "invalid_timestamp",
    );
  });

  it("verifies a fetch Request, reading its raw body once, with headers in any case", async () => {
    const signed = await signCallback(BODY, { secret: SECRET, timestamp: T });
    const headers = Object.fromEntries(Object.entries(signed).map(([name, value]) => [name.toUpperCase(), value]));
    const request = new Request("https://example.com/hook", {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: BODY,
    });
    await expect(verifyCallback(request, { secret: SECRET, now: atT() })).resolves.toMatchObject({
      task_status: "succeed",
    });
    expect(request.bodyUsed).toBe(true);

    // A Request whose body a framework already parsed cannot be verified.
    const used = new Request("https://example.com/hook", { method: "POST", headers, body: BODY });
    await used.json();
    await expectReason(verifyCallback(used, { secret: SECRET, now: atT() }), "parsed_body");
  });

  it("verifies Uint8Array bodies and Node-style headers (arrays, undefined values)", async () => {
    const bytes = new TextEncoder().encode(BODY);
    const signed = await signCallback(bytes, { secret: SECRET, timestamp: T });
    const nodeHeaders = { ...signed, "x-forwarded-for": ["10.0.0.1", "10.0.0.2"], "x-absent": undefined };
    await expect(
      verifyCallback({ headers: nodeHeaders, body: bytes }, { secret: SECRET, now: atT() }),
    ).resolves.toMatchObject({
      task_status: "succeed",
    });
    await expect(
      verifyCallback({ headers: new Headers(signed), body: Buffer.from(BODY) }, { secret: SECRET, now: atT() }),
    ).resolves.toBeDefined();
    await expect(
      verifyCallback({ headers: Object.entries(signed), body: BODY }, { secret: SECRET, now: atT() }),
    ).resolves.toBeDefined();
  });

  it("signs and verifies non-ASCII bodies over their UTF-8 bytes", async () => {
    const body = JSON.stringify({ task_id: "1", task_status: "failed", task_status_msg: "内容审核未通过 🎧" });
    const headers = await signCallback(body, { secret: SECRET, timestamp: T });
    const task = await verifyCallback(
      { headers, body: new TextEncoder().encode(body) },
      { secret: SECRET, now: atT() },
    );
    expect(task.task_status_msg).toBe("内容审核未通过 🎧");
  });

  it("rejects a secret that is not base64, before anything else", async () => {
    const headers = await signCallback(BODY, { secret: SECRET, timestamp: T });
    for (const secret of ["whsec_not*base64!", "whsec_", "", "sk-live-%%%"]) {
      await expectReason(verifyCallback({ headers, body: BODY }, { secret, now: atT() }), "invalid_secret");
      await expectReason(signCallback(BODY, { secret }), "invalid_secret");
    }
  });

  it("rejects a parsed body given in place of the raw one", async () => {
    const headers = await signCallback(BODY, { secret: SECRET, timestamp: T });
    const parsed = JSON.parse(BODY);
    const error = await expectReason(
      verifyCallback({ headers, body: parsed }, { secret: SECRET, now: atT() }),
      "parsed_body",
    );
    expect(error.message).toMatch(/raw request body.*express\.raw/s);
  });

  it("never puts the secret in an error message, JSON or stack", async () => {
    const secrets = ["whsec_TOPSECRETbase64valueAAAA", "TOPSECRETnot*base64", "whsec_TOPSECRET%%%"];
    const headers = await signCallback(BODY, { secret: OTHER_SECRET, timestamp: T });
    const errors: KlingCallbackError[] = [];
    for (const secret of secrets) {
      errors.push(await rejection(verifyCallback({ headers, body: BODY }, { secret, now: atT() })));
      errors.push(await rejection(verifyCallback({ headers, body: BODY }, { secret, now: atT(1000) })));
      errors.push(await rejection(verifyCallback({ headers: {}, body: BODY }, { secret, now: atT() })));
      errors.push(await rejection(verifyCallback({ headers, body: "{" }, { secret, now: atT() })));
      errors.push(await rejection(signCallback(BODY, { secret: `${secret}!` })));
    }
    expect(new Set(errors.map((error) => error.reason))).toEqual(
      new Set(["invalid_signature", "timestamp_out_of_tolerance", "missing_headers", "invalid_secret"]),
    );
    for (const error of errors) {
      const views = [
        error.message,
        String(error),
        JSON.stringify(error),
        error.stack ?? "",
        JSON.stringify(error.cause ?? null),
      ];
      for (const view of views) expect(view).not.toContain("TOPSECRET");
    }
  });
});

describe("parseCallback", () => {
  it.each(Object.keys(examples))("accepts the spec's callback example %s", (name) => {
    const value = examples[name]?.value;
    const task = parseCallback(JSON.stringify(value));
    expect(task.task_id).toBe("866889456698785798");
    if (name !== "console_test") expect(task).toEqual(value);
  });

  it("maps the console's test dialect onto the task fields", () => {
    const event = examples.console_test?.value as Record<string, unknown>;
    expect(parseCallback(JSON.stringify(event))).toEqual({
      task_id: event.id,
      task_status: "submitted",
      task_status_msg: "",
      created_at: event.create_time,
      updated_at: event.update_time,
      task_info: { external_task_id: event.external_id },
    });
    const succeeded = parseCallback(
      JSON.stringify({
        id: "42",
        status: "succeeded",
        outputs: [{ url: "https://cdn.example/a.mp3" }],
        billing: [{ amount: 1 }],
      }),
    );
    expect(succeeded).toEqual({ task_id: "42", task_status: "succeed" });
    // Statuses other than `succeeded` are kept as sent (callers treat unknown ones as running).
    expect(parseCallback('{"id":"42","status":"queued"}').task_status).toBe("queued");
    expect(parseCallback('{"id":"42","status":"failed","message":"bad video"}')).toEqual({
      task_id: "42",
      task_status: "failed",
      task_status_msg: "bad video",
    });
  });

  it("reads the task dialect first when a body carries both key sets", () => {
    expect(parseCallback('{"task_id":"1","task_status":"processing","id":"2","status":"succeeded"}')).toMatchObject({
      task_id: "1",
      task_status: "processing",
    });
  });

  it("keeps unknown extra fields of a task (the spec allows them)", () => {
    const task = parseCallback('{"task_id":"1","task_status":"succeed","watermark":true}');
    expect(task).toEqual({ task_id: "1", task_status: "succeed", watermark: true });
  });

  it("accepts Uint8Array bodies (UTF-8, with or without a BOM)", () => {
    const text = JSON.stringify(examples.processing?.value);
    expect(parseCallback(new TextEncoder().encode(text))).toEqual(examples.processing?.value);
    expect(parseCallback(new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(text)]))).toEqual(
      examples.processing?.value,
    );
    expect(parseCallback(Buffer.from(text))).toEqual(examples.processing?.value);
  });

  it("rejects malformed JSON and non-UTF-8 bytes as invalid_json", async () => {
    for (const body of ["", "{", "{'task_id': 1}", "task_id=1", '{"task_id":"1",}']) {
      await expectReason(() => parseCallback(body), "invalid_json");
    }
    const latin1 = new Uint8Array([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]); // {"é":1} in Latin-1
    const error = await expectReason(() => parseCallback(latin1), "invalid_json");
    expect(error.message).toMatch(/UTF-8/);
  });

  it("rejects wrong types as invalid_payload, naming the first failing field", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ task_id: 123, task_status: "succeed" }, /task_id must be string/],
      [{ task_id: "", task_status: "succeed" }, /task_id must NOT have fewer than 1 characters/],
      [{ task_id: "1", task_status: 7 }, /task_status must be string/],
      [{ task_id: "1" }, /the body must have required property 'task_status'/],
      [{ task_id: "1", task_status: "succeed", created_at: "1764024357708" }, /created_at must be integer/],
      [
        { task_id: "1", task_status: "succeed", task_result: { audios: [{ url_mp3: 5 }] } },
        /task_result\.audios\[0\]\.url_mp3 must be string/,
      ],
      [{ id: "1", status: 3 }, /status must be string/],
      [{ id: "1" }, /the body must have required property 'status'/],
      [{ status: "succeeded" }, /the body must have required property 'id'/],
      [{}, /the body must have required property 'task_id'/],
      [[], /the body must be object/],
      [null, /the body must be object/],
      ["succeed", /the body must be object/],
      [42, /the body must be object/],
    ];
    for (const [value, message] of cases) {
      const error = await expectReason(() => parseCallback(JSON.stringify(value)), "invalid_payload");
      expect(error.message).toMatch(message);
    }
  });

  it("rejects an already-parsed object (the raw body is needed)", async () => {
    for (const value of [examples.succeed?.value, [], null, 42, undefined]) {
      const error = await expectReason(() => parseCallback(value as string), "parsed_body");
      expect(error.message).toMatch(/raw request body/);
    }
  });

  it("agrees with ajv compiling the spec directly", () => {
    const reference = validatorAt("#/components/schemas/CallbackPayload");
    const samples: unknown[] = [
      ...Object.values(examples).map((example) => example.value),
      { task_id: "1", task_status: "succeed" },
      { task_id: 1, task_status: "succeed" },
      { task_id: "1", task_status: "nope" },
      { task_id: "1", task_status: "succeed", task_result: { videos: [{ id: 1 }] } },
      { task_id: "1", task_status: "succeed", final_balance_deduction: { quota: 1 } },
      { task_id: "1", task_status: "succeed", task_info: { parent_video: { duration: 7 } } },
      { task_id: "1", task_status: "succeed", created_at: 1.5 },
      { id: "1", status: "x", outputs: {} },
      { id: "", status: "x" },
      { id: "1", status: "x", billing: [] },
      "x",
      null,
    ];
    for (const sample of samples)
      expect(validateCallbackPayload(sample), JSON.stringify(sample)).toBe(reference(sample));
  });
});

describe("generated/callback-validator.ts", () => {
  it("is in sync with the spec and needs no runtime module", () => {
    const onDisk = readFileSync(fileURLToPath(new URL(`../../${CALLBACK_VALIDATOR_PATH}`, import.meta.url)), "utf8");
    const fresh = compileCallbackValidator();
    expect(fresh === onDisk, "run `npm run generate`").toBe(true);
    expect(compileCallbackValidator()).toBe(fresh); // deterministic
    expect(onDisk).not.toMatch(/\brequire\s*\(/);
    expect(onDisk).not.toMatch(/^\s*import\b/m);
    expect(onDisk.split("\n")[0]).toMatch(
      /^\/\/ Generated from openapi\/openapi\.yaml by `npm run generate`.*do not edit/,
    );
  });
});

describe("contract: Prism's real callback", () => {
  it("posts a body that parseCallback accepts", async () => {
    const prismUrl = await runPrismUrl();
    const received: { promise?: Promise<{ body: Buffer; contentType: string | undefined }> } = {};
    const server = createServer();
    received.promise = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("Prism sent no callback within 5 s")), 5_000);
      server.on("request", (req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => {
          res.writeHead(200).end();
          if (req.url !== "/hook" || req.method !== "POST") return;
          clearTimeout(timer);
          resolve({ body: Buffer.concat(chunks), contentType: req.headers["content-type"] });
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`${prismUrl}/v1/audio/video-to-audio`, {
        method: "POST",
        headers: { Authorization: "Bearer test", "Content-Type": "application/json" },
        body: JSON.stringify({ video_url: "https://example.com/a.mp4", callback_url: `http://127.0.0.1:${port}/hook` }),
      });
      expect(response.status).toBe(200);
      await response.arrayBuffer();

      const { body, contentType } = await received.promise;
      expect(contentType).toMatch(/application\/json/);
      const task = parseCallback(body);
      expect(task.task_id).toMatch(/.+/);
      expect(["submitted", "processing", "succeed", "failed"]).toContain(task.task_status);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("a status added later", () => {
  it("is accepted in a callback, as polling treats it (still running), not rejected as an invalid payload", () => {
    const task = parseCallback(
      JSON.stringify({ task_id: "866889456698785798", task_status: "queued_for_review", created_at: 1764024357708 }),
    );
    expect(task.task_status).toBe("queued_for_review");
    expect(validateCallbackPayload({ task_id: "1", task_status: "" })).toBe(false);
  });
});
