// The published spec files (built once per run in test/setup/build.ts): openapi.json is the YAML bundled,
// openapi-3.0.json is
// valid OpenAPI 3.0 for independent validators (one of which checks that every array has items) and a generator, and
// keeps the XOR create body, the limits, the callback and every named error example.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Spectral } from "@stoplight/spectral-core";
import { oas } from "@stoplight/spectral-rulesets";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import openapiTS, { astToString } from "openapi-typescript";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { arraysWithoutItems, downConvert } from "../../scripts/build.js";
import { buildError as builtError } from "../support/setup-jobs.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, "utf8");
const CREATE = "/v1/audio/video-to-audio";

/** Spectral's `oas` ruleset (Stoplight's linter, independent of the build): `array-items` is an error there. */
async function spectralProblems(doc: unknown): Promise<{ errors: string[]; warnings: string[] }> {
  const spectral = new Spectral();
  spectral.setRuleset({ extends: [[oas as never, "recommended"]] });
  const results = await spectral.run(JSON.stringify(doc));
  const line = (r: (typeof results)[number]) => `${r.code} ${r.path.join("/")}: ${r.message}`;
  return {
    errors: results.filter((r) => r.severity === 0).map(line),
    warnings: results.filter((r) => r.severity === 1).map(line),
  };
}

// The specs are untyped JSON here.
let yaml: any, json: any, v30: any;

const buildError = await builtError();
it("builds (code and spec, once per run in test/setup/build.ts)", () => {
  expect(buildError, `the build failed, so the published spec cannot be checked:\n${buildError}`).toBeNull();
});

describe.skipIf(buildError !== null)("the published spec", () => {
  beforeAll(() => {
    yaml = parse(read("openapi/openapi.yaml"));
    json = JSON.parse(read("openapi/openapi.json"));
    v30 = JSON.parse(read("openapi/openapi-3.0.json"));
  });

  /** Every [pointer, value] pair of a JSON document. */
  function* walk(node: unknown, pointer = "#"): Generator<[string, unknown]> {
    yield [pointer, node];
    if (node && typeof node === "object") {
      for (const [key, child] of Object.entries(node)) yield* walk(child, `${pointer}/${key}`);
    }
  }

  describe("openapi.json", () => {
    it("is the YAML source, bundled, with only local $refs", () => {
      expect(json).toStrictEqual(yaml);
      const refs = [...walk(json)].filter(([p]) => p.endsWith("/$ref")).map(([, v]) => v as string);
      expect(refs.length).toBeGreaterThan(0);
      expect(refs.filter((r) => !r.startsWith("#/"))).toEqual([]);
    });

    it("is valid OpenAPI 3.1 for @seriousme/openapi-schema-validator", async () => {
      const validator = new Validator();
      const result = await validator.validate(structuredClone(json));
      expect(result.errors).toBeUndefined();
      expect(validator.version).toBe("3.1");
    });
  });

  describe("openapi-3.0.json", () => {
    it("is valid OpenAPI 3.0 for @seriousme/openapi-schema-validator", async () => {
      const validator = new Validator();
      const result = await validator.validate(structuredClone(v30));
      expect(result.errors).toBeUndefined();
      expect(validator.version).toBe("3.0");
      expect(v30.openapi).toBe("3.0.3");
    });

    it(
      "passes Spectral's oas ruleset, which requires items on every array (orval and kin-openapi need " + "them)",
      async () => {
        const { errors, warnings } = await spectralProblems(v30);
        expect(errors).toEqual([]);
        // The flattened branches no longer use the shared part; it stays listed for readers of the 3.0 file.
        expect(warnings).toEqual([
          "oas3-unused-component components/schemas/CreateTaskCommon: Potentially unused component has been detected.",
        ]);
      },
    );

    describe("an array without items (negative fixture: the 3.0 file with one items removed)", () => {
      const withoutItems = () => {
        const doc = structuredClone(v30);
        delete doc.components.schemas.CallbackEvent.properties.outputs.items;
        return doc;
      };
      const where = "#/components/schemas/CallbackEvent/properties/outputs";

      it("passes @seriousme/openapi-schema-validator, which therefore cannot be the guard", async () => {
        const result = await new Validator().validate(withoutItems());
        expect(result.valid).toBe(true);
      });

      it("fails Spectral's oas ruleset (array-items)", async () => {
        const { errors } = await spectralProblems(withoutItems());
        expect(errors).toEqual([
          expect.stringMatching(/^array-items components\/schemas\/CallbackEvent\/properties\/outputs: /),
        ]);
      });

      it("is found by the build's check, and the build refuses to publish it", () => {
        expect(arraysWithoutItems(withoutItems())).toEqual([where]);
        expect(arraysWithoutItems(v30)).toEqual([]);
        const doc31 = structuredClone(json);
        delete doc31.components.schemas.CallbackEvent.properties.outputs.items;
        expect(() => downConvert(doc31)).toThrow(
          /CallbackEvent\/properties\/outputs: an array without "items" is not valid OpenAPI 3\.0/,
        );
      });
    });

    it("has no 3.1-only construct left", () => {
      const leftovers = [...walk(v30)].filter(([pointer, value]) => {
        const key = pointer.slice(pointer.lastIndexOf("/") + 1);
        if (/\/(examples|example)\//.test(pointer)) return false; // example values are data
        if (
          ["const", "unevaluatedProperties", "jsonSchemaDialect", "$schema", "$id", "prefixItems", "webhooks"].includes(
            key,
          )
        )
          return true;
        if (/\/properties\/[^/]+$/.test(pointer) && typeof value === "boolean") return true; // boolean schemas
        if (key === "type" && Array.isArray(value)) return true;
        return false;
      });
      expect(leftovers.map(([p]) => p)).toEqual([]);
      expect(v30.info.license).toEqual({ name: "MIT" });
    });

    it("keeps the operations, the callback and every named example", () => {
      const ops = (doc: any) =>
        Object.values<any>(doc.paths).flatMap((item) => Object.values<any>(item).map((op) => op.operationId));
      expect(ops(v30).sort()).toEqual(["createTask", "getTask", "listTasks"]);
      const callback = v30.paths[CREATE].post.callbacks.taskStatus["{$request.body#/callback_url}"].post;
      expect(callback.operationId).toBe("taskStatusCallback");
      expect(callback.requestBody.content["application/json"].schema).toEqual({
        $ref: "#/components/schemas/CallbackPayload",
      });
      const names = (doc: any) =>
        Object.values<any>(doc.components.responses)
          .flatMap((r) => Object.keys(r.content["application/json"].examples))
          .sort();
      expect(names(v30)).toEqual(names(yaml));
      const codes = names(v30).map((n) => Number(n.slice(0, 4)));
      for (const code of [
        1000, 1001, 1002, 1003, 1004, 1100, 1101, 1102, 1103, 1200, 1201, 1202, 1203, 1300, 1301, 1302, 1303, 1304,
        5000, 5001, 5002,
      ]) {
        expect(codes).toContain(code);
      }
    });

    it("keeps the XOR create body as two closed branches", () => {
      const s = v30.components.schemas;
      expect(s.CreateTaskRequest.oneOf).toEqual([
        { $ref: "#/components/schemas/CreateTaskWithVideoId" },
        { $ref: "#/components/schemas/CreateTaskWithVideoUrl" },
      ]);
      for (const [name, own, other] of [
        ["CreateTaskWithVideoId", "video_id", "video_url"],
        ["CreateTaskWithVideoUrl", "video_url", "video_id"],
      ] as const) {
        expect(s[name].required, name).toEqual([own]);
        expect(s[name].additionalProperties, name).toBe(false);
        expect(s[name].properties[own], name).toBeDefined();
        // the other video field may only be "" (read as not given)
        expect(s[name].properties[other], name).toEqual({ $ref: "#/components/schemas/NotGiven" });
        expect(s[name].properties.sound_effect_prompt.maxLength, name).toBe(200);
        expect(s[name].properties.bgm_prompt.maxLength, name).toBe(200);
      }
    });

    it('keeps `""` as the only value of NotGiven', () => {
      expect(v30.components.schemas.NotGiven).toMatchObject({ type: "string", enum: [""] });
    });

    it("keeps the page limits", () => {
      const params = Object.fromEntries(v30.paths[CREATE].get.parameters.map((p: any) => [p.name, p.schema]));
      expect(params.pageNum).toMatchObject({ type: "integer", minimum: 1, maximum: 1000 });
      expect(params.pageSize).toMatchObject({ type: "integer", minimum: 1, maximum: 500 });
    });

    describe("validates create bodies like the 3.1 spec (ajv, draft-07 rules as OpenAPI 3.0 uses them)", () => {
      let validate: ValidateFunction;
      beforeAll(() => {
        const ajv = new Ajv({ strict: false, allErrors: true });
        addFormats.default(ajv);
        ajv.addSchema(v30, "openapi-3.0.json");
        validate = ajv.compile({ $ref: "openapi-3.0.json#/components/schemas/CreateTaskRequest" });
      });

      it("accepts the spec's own request examples", () => {
        for (const [name, example] of Object.entries<any>(
          v30.paths[CREATE].post.requestBody.content["application/json"].examples,
        )) {
          expect(validate(example.value), `${name}: ${JSON.stringify(validate.errors)}`).toBe(true);
        }
      });

      it.each([
        [
          "Kling's documented example (empty external_task_id and callback_url)",
          { video_url: "https://example.com/a.mp4", external_task_id: "", callback_url: "" },
        ],
        ["the gateway form (empty video_id)", { video_id: "", video_url: "https://example.com/a.mp4" }],
        ["the gateway form (empty video_url)", { video_id: "866534912876544067", video_url: "" }],
      ])("accepts %s", (_, body) => {
        expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
      });

      it.each([
        ["both video fields", { video_id: "866534912876544067", video_url: "https://example.com/a.mp4" }],
        ["both video fields empty", { video_id: "", video_url: "" }],
        ["a blank callback URL", { video_id: "866534912876544067", callback_url: " " }],
        ["neither video field", { sound_effect_prompt: "rain" }],
        ["an unknown field", { video_id: "866534912876544067", prompt: "rain" }],
        ["a 201-character prompt", { video_id: "866534912876544067", bgm_prompt: "x".repeat(201) }],
        ["a non-http callback URL", { video_id: "866534912876544067", callback_url: "ftp://example.com/hook" }],
        ["an empty video_id", { video_id: "" }],
      ])("rejects %s", (_, body) => {
        expect(validate(body)).toBe(false);
      });

      it("accepts 200 code points of prompt (emoji count once)", () => {
        expect(validate({ video_url: "https://example.com/a.mp4", sound_effect_prompt: "🔊".repeat(200) })).toBe(true);
      });
    });

    it("is read by a generator (openapi-typescript, as a 3.0 document)", async () => {
      const types = astToString(
        await openapiTS(structuredClone(v30), { alphabetize: true, defaultNonNullable: false }),
      );
      expect(types).toMatch(/createTask: \{/);
      // required (no `?`) in its own branch
      expect(types).toMatch(/CreateTaskWithVideoId: \{[^}]*\bvideo_id: string;/);
      expect(types).toMatch(/CreateTaskWithVideoUrl: \{[^}]*\bvideo_url: components\["schemas"\]\["HttpUrl"\];/);
      // the other field may only be "" in each branch, so both (or neither) still fail to compile
      expect(types).toMatch(/CreateTaskWithVideoId: \{[^}]*\bvideo_url\?: components\["schemas"\]\["NotGiven"\];/);
      expect(types).toMatch(/CreateTaskWithVideoUrl: \{[^}]*\bvideo_id\?: components\["schemas"\]\["NotGiven"\];/);
      expect(types).toMatch(/NotGiven: "";/);
    });
  });
});
