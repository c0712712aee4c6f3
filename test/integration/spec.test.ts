// The spec checks itself: Redocly lint is clean, every example matches its schema (ajv 2020-12), generated/ has not
// drifted.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { arraysWithoutItems, forEachSchema } from "../../scripts/build.js";
import { escapePointer, spec, specPath, validatorAt } from "../support/spec.js";

const run = promisify(execFile);
const root = new URL("../..", import.meta.url).pathname;

interface FoundExample {
  where: string;
  schemaPointer: string;
  value: unknown;
}

/** Every `example`/`examples` in the document beside the `schema` it illustrates. */
function collectExamples(node: any, pointer: string, out: FoundExample[] = []): FoundExample[] {
  if (!node || typeof node !== "object") return out;
  if (node.schema && typeof node.schema === "object") {
    const schemaPointer = `${pointer}/schema`;
    if ("example" in node) out.push({ where: `${pointer}/example`, schemaPointer, value: node.example });
    for (const [name, ex] of Object.entries<any>(node.examples ?? {})) {
      out.push({ where: `${pointer}/examples/${name}`, schemaPointer, value: ex.value });
    }
  }
  for (const [key, child] of Object.entries<any>(node)) {
    if (key === "examples" || key === "example" || key === "schema") continue;
    collectExamples(child, `${pointer}/${escapePointer(key)}`, out);
  }
  return out;
}

describe("openapi/openapi.yaml", () => {
  it("passes Redocly lint with zero errors and zero warnings", async () => {
    const { stdout } = await run(
      process.execPath,
      [`${root}node_modules/@redocly/cli/bin/cli.js`, "lint", specPath, "--format=json"],
      {
        cwd: root,
        maxBuffer: 16 * 1024 * 1024,
      },
    ).catch((error) => error);
    const report = JSON.parse(stdout.slice(stdout.indexOf("{")));
    const problems = report.problems.map(
      (p: any) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer}`,
    );
    expect(problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  const examples = collectExamples(spec, "#");

  it("has examples for every media type and parameter that needs one", () => {
    expect(examples.length).toBeGreaterThan(40);
  });

  it.each(examples.map((e) => [e.where, e] as const))("example %s matches its schema", (_where, example) => {
    const validate = validatorAt(example.schemaPointer);
    const ok = validate(example.value);
    expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
    expect(ok).toBe(true);
  });

  it('has no boolean subschema, which openapi-zod-client cannot read ("Schema is required")', () => {
    const booleans: string[] = [];
    forEachSchema(structuredClone(spec), (schema, where) => {
      for (const [name, s] of Object.entries(schema.properties ?? {}))
        if (typeof s === "boolean") booleans.push(`${where}/properties/${name}`);
      for (const key of ["items", "not", "additionalItems", "unevaluatedItems", "contains", "propertyNames"]) {
        if (typeof schema[key] === "boolean") booleans.push(`${where}/${key}`);
      }
      for (const key of ["allOf", "anyOf", "oneOf", "prefixItems"]) {
        for (const [i, s] of ((schema[key] ?? []) as unknown[]).entries()) {
          if (typeof s === "boolean") booleans.push(`${where}/${key}/${i}`);
        }
      }
      // `additionalProperties: false` and `unevaluatedProperties: false` are keywords with a boolean value, not
      // subschemas.
    });
    expect(booleans).toEqual([]);
  });

  it(
    "gives every array schema its items (OpenAPI 3.0 requires them, and the 3.0 copy is converted from this " + "file)",
    () => {
      const missing = arraysWithoutItems(spec);
      expect(missing).toEqual([]);
    },
  );

  it("generated/ matches the spec (drift check)", async () => {
    await expect(
      run(process.execPath, [`${root}node_modules/tsx/dist/cli.mjs`, "scripts/generate.ts", "--check"], { cwd: root }),
    ).resolves.toBeDefined();
  });
});

describe("spec coverage of kling-api.md", () => {
  const documentedCodes = [
    1000, 1001, 1002, 1003, 1004, 1100, 1101, 1102, 1103, 1200, 1201, 1202, 1203, 1300, 1301, 1302, 1303, 1304, 5000,
    5001, 5002,
  ];
  const statusOf: Record<number, string> = {
    1000: "401",
    1001: "401",
    1002: "401",
    1003: "401",
    1004: "401",
    1100: "429",
    1101: "429",
    1102: "429",
    1103: "403",
    1200: "400",
    1201: "400",
    1202: "404",
    1203: "404",
    1300: "400",
    1301: "400",
    1302: "429",
    1303: "429",
    1304: "429",
    5000: "500",
    5001: "503",
    5002: "504",
  };

  it("has one named example per business code, under its HTTP status, on every operation", () => {
    for (const [path, item] of Object.entries<any>(spec.paths)) {
      for (const op of Object.values<any>(item)) {
        const byStatus = new Map<string, number[]>();
        for (const [status, response] of Object.entries<any>(op.responses)) {
          const ref = response.$ref?.split("/").pop();
          const resolved = ref ? spec.components.responses[ref] : response;
          const codes = Object.values<any>(resolved.content?.["application/json"]?.examples ?? {}).map(
            (e) => e.value.code,
          );
          byStatus.set(status, codes);
        }
        for (const code of documentedCodes) {
          expect(byStatus.get(statusOf[code]!), `${path} ${op.operationId} ${code}`).toContain(code);
        }
        for (const status of ["400", "401", "403", "404", "429", "500", "503", "504"]) {
          expect(op.responses[status], `${op.operationId} ${status}`).toBeDefined();
        }
      }
    }
  });

  it("names every task status on getTask", () => {
    const examples =
      spec.paths["/v1/audio/video-to-audio/{task_id}"].get.responses["200"].content["application/json"].examples;
    const statuses = Object.values<any>(examples).map((e) => e.value.data.task_status);
    expect(new Set(statuses)).toEqual(new Set(spec.components.schemas.TaskStatus.enum));
  });

  it("keeps the create body strict and the responses tolerant", () => {
    const request = validatorAt("#/components/schemas/CreateTaskRequest");
    expect(request({ video_url: "https://example.com/a.mp4" })).toBe(true);
    expect(request({ video_id: "1", video_url: "https://example.com/a.mp4" })).toBe(false);
    expect(request({})).toBe(false);
    expect(request({ video_url: "https://example.com/a.mp4", bgm_promt: "typo" })).toBe(false);
    expect(request({ video_url: "ftp://example.com/a.mp4" })).toBe(false);
    expect(request({ video_url: "https://example.com/a.mp4", bgm_prompt: "🎵".repeat(200) })).toBe(true);
    expect(request({ video_url: "https://example.com/a.mp4", bgm_prompt: "🎵".repeat(201) })).toBe(false);
    expect(request({ video_id: "", asmr_mode: false })).toBe(false);
    expect(request({ video_id: "1", asmr_mode: "yes" })).toBe(false);
    // `""` means "not given" (Kling's documented example, gateway samples); a blank or non-empty other field does not.
    expect(request({ video_id: "1", external_task_id: "", callback_url: "" })).toBe(true);
    expect(request({ video_id: "1", video_url: "" })).toBe(true);
    expect(request({ video_id: "", video_url: "https://example.com/a.mp4" })).toBe(true);
    expect(request({ video_id: "", video_url: "" })).toBe(false);
    expect(request({ video_id: " ", video_url: "https://example.com/a.mp4" })).toBe(false);
    expect(request({ video_id: "1", callback_url: " " })).toBe(false);
    expect(request({ video_id: "1", video_url: null })).toBe(false);
    const task = validatorAt("#/components/schemas/Task");
    expect(task({ task_id: "1", task_status: "submitted", a_new_field: { x: 1 } })).toBe(true);
    const envelope = validatorAt("#/components/schemas/TaskResponse");
    expect(envelope({ code: 0, message: "SUCCEED" })).toBe(true);
  });
});
