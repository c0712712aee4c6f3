// The mock engine's data as code, for runtimes with no file system (MSW in a page): the spec's examples and request
// facts (generated/mock-spec.ts), and the media fixtures' bytes (generated/mock-media.ts).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

export const MOCK_SPEC_PATH = "generated/mock-spec.ts";
export const MOCK_MEDIA_PATH = "generated/mock-media.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const METHODS = ["get", "post"] as const;
/** Base64 split in lines of this many characters, so the module stays readable by line-based tools. */
const BASE64_LINE = 100;

/** The spec's nodes, untyped (scripts/ may use `any`). */
type Json = any;

/** The node at a local `#/...` pointer. */
function at(spec: Json, pointer: string): Json {
  return pointer
    .slice(2)
    .split("/")
    .reduce((node: Json, segment) => node?.[segment.replaceAll("~1", "/").replaceAll("~0", "~")], spec);
}

/** `node` with every local `$ref` replaced by its target (the request schemas have no cycles). */
function deref(spec: Json, node: Json): Json {
  if (Array.isArray(node)) return node.map((item) => deref(spec, item));
  if (node === null || typeof node !== "object") return node;
  if (typeof node.$ref === "string") return deref(spec, at(spec, node.$ref));
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, deref(spec, value)]));
}

/** Every property a body schema names, through allOf/oneOf/anyOf (for "did you mean" and the "known fields" list). */
function collectProperties(schema: Json, into = new Set<string>()): Set<string> {
  if (schema === null || typeof schema !== "object") return into;
  for (const [name, sub] of Object.entries(schema.properties ?? {})) if (sub !== false) into.add(name);
  for (const key of ["allOf", "oneOf", "anyOf"]) for (const sub of schema[key] ?? []) collectProperties(sub, into);
  return into;
}

/** The fields each `oneOf` branch requires (through its `allOf` parts): the create body's video_id / video_url. */
function branchFields(schema: Json): string[] {
  if (!Array.isArray(schema?.oneOf)) return [];
  const required = (sub: Json): string[] => [
    ...(Array.isArray(sub?.required) ? sub.required.map(String) : []),
    ...(Array.isArray(sub?.allOf) ? sub.allOf.flatMap(required) : []),
  ];
  return [...new Set<string>(schema.oneOf.flatMap(required))];
}

/** Each operation's request facts and its named response examples, keyed by status then name, in spec order. */
function operations(spec: Json): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [path, item] of Object.entries<Json>(spec.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const body = deref(spec, operation.requestBody?.content?.["application/json"]?.schema);
      const responses: Record<string, Record<string, Json>> = {};
      for (const [status, response] of Object.entries<Json>(operation.responses)) {
        const examples = deref(spec, response).content?.["application/json"]?.examples ?? {};
        responses[status] = Object.fromEntries(Object.entries<Json>(examples).map(([name, e]) => [name, e.value]));
      }
      out[operation.operationId] = {
        method: method.toUpperCase(),
        path,
        bodyRequired: operation.requestBody?.required === true,
        bodyFields: [...collectProperties(body)],
        branchFields: branchFields(body),
        queryNames: (operation.parameters ?? []).filter((p: Json) => p.in === "query").map((p: Json) => p.name),
        responses,
      };
    }
  }
  return out;
}

const SPEC_TYPES = `
export interface MockOperation {
  method: "GET" | "POST";
  /** The spec's path template, e.g. \`/v1/audio/video-to-audio/{task_id}\`. */
  path: string;
  bodyRequired: boolean;
  /** Every property the request body schema names (for "did you mean"). */
  bodyFields: readonly string[];
  /** Fields that each pick one \`oneOf\` branch (\`video_id\`, \`video_url\`): exactly one must be given. */
  branchFields: readonly string[];
  /** Query parameter names as the spec spells them. */
  queryNames: readonly string[];
  /** Named response examples: status → example name → body, in the spec's order. */
  responses: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}
`;

/** Returns the source of generated/mock-spec.ts. */
export function generateMockSpec(specPath = `${root}openapi/openapi.yaml`): string {
  const spec = parse(readFileSync(specPath, "utf8"));
  const table = JSON.stringify(operations(spec), null, 2);
  return `// Generated from openapi/openapi.yaml by \`npm run generate\` (scripts/generate-mock-data.ts): do not edit.
// The mock engine's view of the spec: each operation's request facts and its named response examples.
${SPEC_TYPES}
export const MOCK_OPERATIONS: Readonly<Record<"createTask" | "listTasks" | "getTask", MockOperation>> = ${table};
`;
}

/** Returns the source of generated/mock-media.ts: the fixtures of mocks/media/ with their manifest, bytes in base64. */
export function generateMockMedia(dir = `${root}mocks/media/`): string {
  const manifest: Record<string, { file: string; type: string; seconds: number }> = JSON.parse(
    readFileSync(`${dir}media.json`, "utf8"),
  );
  const entries = Object.entries(manifest).map(([kind, entry]) => {
    const bytes = readFileSync(`${dir}${entry.file}`);
    const base64 = bytes.toString("base64");
    const etag = `"${createHash("sha256").update(bytes).digest("base64url").slice(0, 22)}"`;
    const lines: string[] = [];
    for (let i = 0; i < base64.length; i += BASE64_LINE) lines.push(`    "${base64.slice(i, i + BASE64_LINE)}",`);
    const facts = `    type: "${entry.type}",\n    seconds: ${entry.seconds},\n    etag: ${JSON.stringify(etag)},\n`;
    const head = `  ${kind}: {\n${facts}    base64: [\n`;
    return `${head}${lines.map((line) => `  ${line}`).join("\n")}\n    ].join(""),\n  },`;
  });
  return `// Generated from mocks/media/ by \`npm run generate\` (scripts/generate-mock-data.ts): do not edit.
// The mock's media fixtures as data, so the engine serves them where there is no file system (a page's MSW worker).

export const MOCK_MEDIA = {
${entries.join("\n")}
} as const;
`;
}
