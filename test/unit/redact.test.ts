// The one redaction: a configured key in every form an echo takes is removed; text without a key is left as it is.
import { inspect } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createClient } from "../../src/index.js";
import { createProxy } from "../../src/proxy/index.js";
import { createLog, createRedactor, type Logger, REDACTED } from "../../src/redact.js";

const KEY = "sk-Ab3dEf6hQw9rTyUiJk6lMn";
const BARE = KEY.slice(3);
const ZERO_WIDTH = ["\u200B", "\u200C", "\u200D", "\u2060", "\uFEFF"];

const base64 = (text: string) => Buffer.from(text).toString("base64");
const base64url = (text: string) => Buffer.from(text).toString("base64url");
const percentAll = (text: string) =>
  [...text].map((char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`).join("");

/** Every altered form of `key` that servers and gateways were seen to echo, by name. */
function alteredForms(key: string): Array<[name: string, form: string]> {
  const bare = key.replace(/^sk-/, "");
  return [
    ["as spelled", key],
    ["without its sk- prefix", bare],
    ["upper-cased", key.toUpperCase()],
    ["lower-cased", key.toLowerCase()],
    ["masked in its last 4 characters", `${key.slice(0, -4)}****`],
    ["masked in the middle", `${bare.slice(0, 8)}...${bare.slice(-6)}`],
    ["cut to its first 8 characters", bare.slice(0, 8)],
    ["URL-encoded", encodeURIComponent(key)],
    ["percent-encoded throughout", percentAll(key)],
    ["partly percent-encoded", [...key].map((char, i) => (i % 3 === 0 ? percentAll(char) : char)).join("")],
    ["percent-encoded twice", percentAll(key).replaceAll("%", "%25")],
    ...ZERO_WIDTH.map((mark): [string, string] => [
      `split by U+${mark.charCodeAt(0).toString(16).toUpperCase()}`,
      [...key].join(mark),
    ]),
    ["split by an encoded zero-width space", [...key].join("%E2%80%8B")],
    ["base64", base64(key)],
    ["base64 without padding", base64(key).replace(/=+$/, "")],
    ["base64url", base64url(key)],
    ["base64 of Bearer key", base64(`Bearer ${key}`)],
    ["base64 of key:", base64(`${key}:`)],
    ["base64 of user:key (Basic)", base64(`user:${key}`)],
    ["base64url of a JSON body", base64url(JSON.stringify({ api_key: key }))],
  ];
}

describe("createRedactor: a key of 8 characters or more, in every altered form", () => {
  const redactor = createRedactor([KEY]);
  it.each(alteredForms(KEY))("%s, inside a sentence, reads naturally", (_name, form) => {
    expect(redactor.text(`token ${form} is invalid`)).toBe(`token ${REDACTED} is invalid`);
  });

  it.each(alteredForms(KEY))("%s, inside JSON and a URL query", (_name, form) => {
    expect(redactor.text(JSON.stringify({ message: form }))).toBe(`{"message":"${REDACTED}"}`);
    expect(redactor.text(`https://api.example.com/v1?key=${form}&x=1`)).toBe(
      `https://api.example.com/v1?key=${REDACTED}&x=1`,
    );
  });

  it("keeps 7 characters of a key: a run shorter than 8 is not the key", () => {
    expect(redactor.text(`ends in ${BARE.slice(-7)}`)).toBe(`ends in ${BARE.slice(-7)}`);
  });

  it("finds the key several times, and two keys side by side", () => {
    const other = "ak-9Zy8Xw7Vu6Ts5Rq4";
    const both = createRedactor([KEY, other]);
    expect(both.text(`${KEY} ${other.toUpperCase()} ${base64(KEY)}`)).toBe(`${REDACTED} ${REDACTED} ${REDACTED}`);
  });

  it("a key that itself holds %XX or an invisible character is found as spelled", () => {
    for (const key of ["pass%41word-12345", "pass\u200Bword-12345"]) {
      expect(createRedactor([key]).text(`x ${key} y`)).toBe(`x ${REDACTED} y`);
    }
  });

  it("a run of digits alone is not a key's: task ids and timestamps stay whole, the key itself does not", () => {
    const hexKey = "3f9a0c1d84729163550e2b7c4d8f6a1e";
    const redactor = createRedactor([hexKey, "8472916355012345"]);
    const ids = '{"task_id":"868472916355032578","created_at":1764024357708}';
    expect(redactor.text(ids)).toBe(ids);
    expect(redactor.text(`key ${hexKey} and ${hexKey.slice(4, 20)} and 8472916355012345`)).toBe(
      `key ${REDACTED} and ${REDACTED} and ${REDACTED}`,
    );
  });

  it("a key that contains a shorter key is removed whole", () => {
    expect(createRedactor(["abcdefgh", "abcdefgh-ijkl"]).text("x abcdefgh-ijkl y abcdefgh")).toBe(
      `x ${REDACTED} y ${REDACTED}`,
    );
  });
});

describe("createRedactor: a key under 8 characters is matched as spelled", () => {
  const redactor = createRedactor(["sk-q7"]);
  it("however short, as spelled, URL-encoded or split", () => {
    expect(redactor.text("quota of key sk-q7 exceeded")).toBe(`quota of key ${REDACTED} exceeded`);
    expect(redactor.text("key=sk%2Dq7&b=1")).toBe(`key=${REDACTED}&b=1`);
    expect(redactor.text("s\u200Bk-q7!")).toBe(`${REDACTED}!`);
  });
  it("not in another case, and never widened over the words around it", () => {
    expect(redactor.text("SK-Q7 is fine")).toBe("SK-Q7 is fine");
    expect(redactor.text("sk-q7abc")).toBe(`${REDACTED}abc`);
  });
});

describe("createRedactor: bearer tokens and JWTs, as the logger always did", () => {
  const redactor = createRedactor([]);
  it("anything after Bearer, any JWT-shaped token", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJhayJ9.c2lnbmF0dXJl";
    expect(redactor.text(`Authorization: Bearer opaque.token-1, then ${jwt}.`)).toBe(
      `Authorization: Bearer ${REDACTED}, then ${REDACTED}.`,
    );
  });
});

describe("createRedactor: a JWT that holds a key", () => {
  it("is replaced whole, not around the key in its payload", () => {
    const accessKey = "AK-Zq8Wm2Xr5Tn9Vb4Lc7Hd";
    const payload = base64url(JSON.stringify({ iss: accessKey, exp: 1764026157 }));
    const jwt = `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${payload}.z_xEp6H7-yrrTMpVUmU9yLCXICDxd2_hyhB6iWF8Sdk`;
    const redactor = createRedactor([accessKey]);
    expect(redactor.text(`token ${jwt} invalid`)).toBe(`token ${REDACTED} invalid`);
    expect(redactor.text(`Authorization: Bearer ${jwt}`)).toBe(`Authorization: Bearer ${REDACTED}`);
  });
});

describe("createRedactor: remember and json", () => {
  it("remembers signed tokens, forgetting the oldest past maxRemembered", () => {
    const redactor = createRedactor([], { maxRemembered: 2 });
    const tokens = ["first-Qm3xT8vL2p", "second-Wn5yR1kJ7h", "third-Bz4cH9sD6f"];
    for (const token of tokens) redactor.remember(token);
    expect(redactor.text(tokens.join(" "))).toBe(`${tokens[0]} ${REDACTED} ${REDACTED}`);
  });

  it("redacts every string of a JSON value, keys too, and leaves the other values", () => {
    const redactor = createRedactor([KEY]);
    const value = { [KEY]: [base64(KEY), 3, null, { ok: true, text: `k=${encodeURIComponent(KEY)}` }] };
    expect(redactor.json(value)).toEqual({ [REDACTED]: [REDACTED, 3, null, { ok: true, text: `k=${REDACTED}` }] });
  });

  it("ignores empty secrets instead of redacting everything", () => {
    expect(createRedactor(["", ""]).text("hello")).toBe("hello");
  });
});

const ORDINARY = [
  "GET https://api.deerapi.com/v1/audio/video-to-audio/866889456698785798?page=2&size=30 200 in 12 ms",
  '{"code":0,"message":"SUCCEED","request_id":"CjhIBmdGbHYAAAAAAAbqYA","data":{"task_status":"succeed"}}',
  "task 866889456698785798 (external_task_id batch-7f3a9c-0001) is processing; 100% of 3 items done",
  "connect ECONNREFUSED 127.0.0.1:4010 at TCPConnectWrapper.onStreamRead (node:internal/stream_base_commons:217:20)",
  "https://cdn.klingai.com/bs2/upload-ylab-stunt/audio/a1b2c3d4-e5f6-7890-abcd-ef0123456789.mp3?x-oss-process=1",
  "Soft\u00ADhyphen, zero\u200Bwidth and %zz stay as they are; 50%25 off",
];

describe("createRedactor: text without a key is left unchanged", () => {
  it.each(ORDINARY)("%s", (line) => {
    expect(createRedactor([KEY, "sk-q7"]).text(line)).toBe(line);
  });
});

/** High-entropy keys, as providers issue them (fast-check's bias would otherwise favour `AAAA…`). */
const keyArbitrary = fc.noBias(
  fc
    .tuple(
      fc.constantFrom("", "sk-", "ak-", "whsec_"),
      fc.string({
        unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
        minLength: 16,
        maxLength: 64,
      }),
    )
    .map(([prefix, body]) => prefix + body),
);
const ordinaryArbitrary = fc.oneof(
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.json(),
  fc.domain(),
  fc.uuid(),
  fc.emailAddress(),
  fc.bigInt({ min: 10n ** 17n, max: 10n ** 19n }).map(String),
  fc.constantFrom(...ORDINARY),
);
const separator = fc.constantFrom(" ", ": ", " (", '"', ", ", "\n", " = ");

describe("createRedactor under fuzzing", () => {
  it("removes a random key in every altered form from random text, keeping the text around it", () => {
    fc.assert(
      fc.property(
        keyArbitrary,
        ordinaryArbitrary,
        ordinaryArbitrary,
        separator,
        fc.nat(),
        (key, before, after, gap, pick) => {
          const forms = alteredForms(key);
          const [name, form] = forms[pick % forms.length] as [string, string];
          const redactor = createRedactor([key]);
          const prefix = `${before}${gap}`;
          const suffix = `${gap === " (" ? ")" : " "}${after}`;
          // The surroundings are ordinary text; what they become alone, they stay around the key.
          const expected = redactor.text(prefix) + REDACTED + redactor.text(suffix);
          const out = redactor.text(prefix + form + suffix);
          expect(out, name).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("leaves ordinary text (URLs, JSON, hostnames, task ids) with no key unchanged", () => {
    fc.assert(
      fc.property(keyArbitrary, fc.array(ordinaryArbitrary, { maxLength: 5 }), (key, parts) => {
        const text = parts.join(" ");
        fc.pre(!/Bearer\s|eyJ/i.test(text));
        expect(createRedactor([key, key.slice(0, 5)]).text(text)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});

describe("every user of the redaction covers the altered forms", () => {
  it("the log (createLog) redacts messages and arguments", () => {
    const lines: string[] = [];
    const write = (message: string, ...rest: unknown[]) => lines.push([message, ...rest].join(" "));
    const logger: Logger = { debug: write, info: write, warn: write, error: write };
    const log = createLog(logger, "debug", [KEY]);
    for (const [, form] of alteredForms(KEY)) log.warn(`key ${form}`, { echo: form });
    expect(lines.join("\n")).not.toMatch(/Ab3dEf6h|c2st|QWIzZEVm|%41/i);
    expect(lines.every((line) => line === `key ${REDACTED} {"echo":"${REDACTED}"}`)).toBe(true);
  });

  it("the proxy's answers, when the upstream echoes the key in any form", async () => {
    const forms = alteredForms(KEY).map(([, form]) => form);
    const handler = createProxy({
      apiKey: KEY,
      baseUrl: "https://upstream.test",
      authorize: () => ({ owner: "alice" }),
      fetch: async () =>
        Response.json({ code: 1002, message: `invalid: ${forms.join(" | ")}`, data: forms }, { status: 401 }),
    });
    const response = await handler(new Request("https://app.test/api/kling/v1/audio/video-to-audio/1"));
    const body = await response.text();
    expect(response.status).toBe(401);
    expect(body).not.toMatch(/Ab3dEf6h|c2st|QWIzZEVm|%41/i);
    expect(JSON.parse(body).data).toEqual(forms.map(() => REDACTED));
  });

  it("the client's errors: message, JSON.stringify and util.inspect", async () => {
    const forms = alteredForms(KEY).map(([, form]) => form);
    const kling = createClient({
      apiKey: KEY,
      baseUrl: "https://upstream.test",
      maxRetries: 0,
      logLevel: "off",
      fetch: async () => Response.json({ code: 1002, message: `invalid: ${forms.join(" | ")}` }, { status: 401 }),
    });
    const error = await kling.getTask("1").catch((caught: unknown) => caught);
    const everything = [String(error), JSON.stringify(error), inspect(error, { depth: 8 })].join("\n");
    expect(everything).not.toMatch(/Ab3dEf6h|c2st|QWIzZEVm|%41/i);
    expect(everything).toContain(REDACTED);
  });
});
