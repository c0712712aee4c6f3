// Compiles the spec's schemas into dependency-free validator modules (ajv standalone code) for generated/: callbacks,
// and the mock's request checks (createTask's body, listTasks' query).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import ucs2length from "ajv/dist/runtime/ucs2length.js";
import standaloneCode from "ajv/dist/standalone/index.js";
import * as formatsModule from "ajv-formats/dist/formats.js";
import { parse } from "yaml";

const require_ = createRequire(import.meta.url);
const SPEC_PATH = fileURLToPath(new URL("../openapi/openapi.yaml", import.meta.url));

/** Where `npm run generate` writes the module, relative to the package root. */
export const CALLBACK_VALIDATOR_PATH = "generated/callback-validator.ts";

/**
 * The exported validators, in compile order. Order matters: ajv reuses a root it has already compiled, so
 * compiling `Task` and `CallbackEvent` before `CallbackPayload` (their `anyOf`) emits each body only once.
 * `parseCallback` needs the two branches to tell the dialects apart and to name the failing field.
 */
const EXPORTS = {
  validateCallbackTask: "CallbackTask",
  validateCallbackEvent: "CallbackEvent",
  validateCallbackPayload: "CallbackPayload",
} as const;

// Keywords that never change validity. Dropping them keeps the module small and keeps prose edits in the
// spec from churning generated/.
const ANNOTATIONS = new Set([
  "description",
  "title",
  "summary",
  "example",
  "examples",
  "deprecated",
  "externalDocs",
  "xml",
]);
const SCHEMA_MAPS = new Set(["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"]);
const SCHEMA_LISTS = new Set(["allOf", "anyOf", "oneOf", "prefixItems"]);
const SCHEMA_VALUES = new Set([
  "items",
  "additionalItems",
  "additionalProperties",
  "unevaluatedItems",
  "unevaluatedProperties",
  "not",
  "if",
  "then",
  "else",
  "contains",
  "propertyNames",
]);

/**
 * The default export of an ajv CommonJS module, whichever interop loaded it: Node's ESM loader hands over
 * `module.exports` (so the function is at `.default`), vitest and tsx's CJS mode hand over `.default` itself.
 */
function cjsDefault<T>(module: { default: T }): T {
  const inner: unknown = (module as { default?: unknown }).default;
  return (typeof inner === "function" ? inner : module) as T;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Removes annotation keywords, walking only schema positions (a property named `description` is kept). */
function stripAnnotations(schema: Json): Json {
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) return schema;
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(schema)) {
    if (ANNOTATIONS.has(key)) continue;
    if (SCHEMA_MAPS.has(key) && value !== null && typeof value === "object" && !Array.isArray(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, stripAnnotations(sub)]));
    } else if (SCHEMA_LISTS.has(key) && Array.isArray(value)) {
      out[key] = value.map(stripAnnotations);
    } else if (SCHEMA_VALUES.has(key)) {
      out[key] = stripAnnotations(value);
    } else {
      out[key] = value; // enum, const, default, required, ...: data, not schemas
    }
  }
  return out;
}

// ajv's standalone code `require`s its runtime helpers even in ESM mode. The SDK must not depend on ajv, so
// the helpers the callback schema needs are inlined; any other helper fails generation below.
const INLINE_RUNTIME: Record<string, string> = {
  'require("ajv/dist/runtime/ucs2length").default': `(${cjsDefault(ucs2length).toString()})`,
};

const HEADER =
  "// Generated from openapi/openapi.yaml by `npm run generate` (scripts/compile-validators.ts): do not edit.\n" +
  "// @ts-nocheck: ajv standalone output; the exports below carry hand-written types.\n";

const TYPES = `
/** One reason a value failed a schema (ajv's error object). */
export interface SchemaError {
  /** JSON pointer to the failing value, \`""\` for the root. */
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** A compiled schema: true when \`data\` is valid; after \`false\`, \`errors\` says why (first failure only). */
export interface SchemaValidator {
  (data: unknown): boolean;
  errors?: SchemaError[] | null;
}
`;

/** Where `npm run generate` writes the mock's request validators (createTask's body, listTasks' query). */
export const CREATE_VALIDATOR_PATH = "generated/create-validator.ts";
export const LIST_QUERY_VALIDATOR_PATH = "generated/list-query-validator.ts";

/** The spec, untyped (scripts/ may use `any`). */
function loadSpec(): any {
  const spec: any = parse(readFileSync(SPEC_PATH, "utf8"));
  if (!spec?.components?.schemas?.CallbackPayload) throw new Error(`${SPEC_PATH} has no components.schemas`);
  return spec;
}

function strippedSchemas(spec: { components: { schemas: Record<string, Json> } }): Record<string, Json> {
  return Object.fromEntries(Object.entries(spec.components.schemas).map(([name, s]) => [name, stripAnnotations(s)]));
}

/**
 * The standalone module for `refs` (export name → schema id) compiled by `ajv`, with its runtime helpers inlined, its
 * exports typed, and a check that it needs no module at run time.
 */
function standaloneModule(ajv: Ajv2020, refs: Record<string, string>, what: string): string {
  let code = cjsDefault(standaloneCode)(ajv, refs);
  for (const [needle, replacement] of Object.entries(INLINE_RUNTIME)) code = code.split(needle).join(replacement);
  let typed = 0;
  code = code.replace(/export const (\w+) = (validate\d+);/g, (_match, name: string, fn: string) => {
    typed++;
    return `export const ${name}: SchemaValidator = ${fn};`;
  });
  if (typed !== Object.keys(refs).length)
    throw new Error(`expected ${Object.keys(refs).length} exports in ajv's output, found ${typed}`);
  const source = `${HEADER}${code.trimEnd()}\n${TYPES}`;
  const runtime = /\brequire\s*\(|^\s*import\b|\bfrom\s*["']ajv|["']ajv(?:-formats)?\//m.exec(source);
  if (runtime) {
    throw new Error(
      `the ${what} would need a runtime module (${JSON.stringify(runtime[0])}); inline it in INLINE_RUNTIME`,
    );
  }
  return source;
}

/** Returns the source of generated/callback-validator.ts. Byte-identical for the same spec and ajv version. */
export function compileCallbackValidator(): string {
  const spec = loadSpec();
  // Formats are not validated: the callback schema uses only int64, which `type: integer` already covers,
  // and format checks would pull ajv-formats into the runtime.
  const ajv = new Ajv2020({
    strict: false,
    validateFormats: false,
    inlineRefs: false,
    code: { source: true, esm: true, lines: true },
  });
  ajv.addSchema({ components: { schemas: strippedSchemas(spec) } }, "openapi.json");
  const refs = Object.fromEntries(
    Object.entries(EXPORTS).map(([name, schema]) => [name, `openapi.json#/components/schemas/${schema}`]),
  );
  return standaloneModule(ajv, refs, "callback validator");
}

/**
 * ajv-formats' `uri` check (the "full" mode Prism uses) as one regular expression, so that ajv inlines it: the
 * module's own `URI` pattern, read from its source, behind a lookahead for its `NOT_URI_FRAGMENT` test (a `/` or `:`).
 */
function uriFormat(): RegExp {
  const source = readFileSync(require_.resolve("ajv-formats/dist/formats.js"), "utf8");
  const uri = /^const URI = \/(.*)\/i;$/m.exec(source)?.[1];
  const fragment = /^const NOT_URI_FRAGMENT = \/(.*)\/;$/m.exec(source)?.[1];
  if (!uri?.startsWith("^") || fragment !== "\\/|:")
    throw new Error("ajv-formats/dist/formats.js: the uri format's patterns were not found; update uriFormat()");
  const combined = new RegExp(`^(?=[\\s\\S]*(?:${fragment}))${uri.slice(1)}`, "i");
  // Named under Node's ESM loader (cjs-module-lexer), under `.default` in tsx's CJS mode.
  const formats = (formatsModule as { fullFormats?: typeof formatsModule.fullFormats }).fullFormats;
  const reference = (formats ?? (formatsModule as unknown as { default: typeof formatsModule }).default.fullFormats)
    .uri as (text: string) => boolean;
  for (const sample of ["https://a.b/c", "a b", "ftp://x", "x", "http://a b", "mailto:x@y", "/", "http:"])
    if (combined.test(sample) !== reference(sample))
      throw new Error(`uriFormat() disagrees with ajv-formats on ${sample}`);
  return combined;
}

/** An ajv for the request side as Prism validates it: every error (so each field is named), formats checked. */
function requestAjv(coerceTypes: boolean): Ajv2020 {
  const ajv = new Ajv2020({
    strict: false,
    allErrors: true,
    coerceTypes,
    inlineRefs: false,
    code: { source: true, esm: true, lines: true },
  });
  ajv.addFormat("uri", uriFormat());
  return ajv;
}

/**
 * Returns the sources of the mock's request validators, from the spec: createTask's body schema as it stands, and
 * listTasks' query parameters as one object schema under their spec names (query values are strings, so types are
 * coerced, as Prism does for parameters and never for bodies).
 */
export function compileRequestValidators(): { create: string; listQuery: string } {
  const spec = loadSpec();
  const createAjv = requestAjv(false);
  createAjv.addSchema({ components: { schemas: strippedSchemas(spec) } }, "openapi.json");
  const bodyRef = spec.paths["/v1/audio/video-to-audio"].post.requestBody.content["application/json"].schema.$ref;
  if (typeof bodyRef !== "string" || !bodyRef.startsWith("#/")) throw new Error("createTask's body is not a $ref");
  const create = standaloneModule(createAjv, { validateCreateTaskBody: `openapi.json${bodyRef}` }, "create validator");

  const parameters: Array<{ name: string; in: string; required?: boolean; schema: Json }> =
    spec.paths["/v1/audio/video-to-audio"].get.parameters;
  const query = parameters.filter((parameter) => parameter.in === "query");
  const querySchema = {
    type: "object",
    properties: Object.fromEntries(query.map((parameter) => [parameter.name, stripAnnotations(parameter.schema)])),
    required: query.filter((parameter) => parameter.required).map((parameter) => parameter.name),
  };
  const queryAjv = requestAjv(true);
  queryAjv.addSchema(querySchema, "list-query.json");
  const listQuery = standaloneModule(queryAjv, { validateListTasksQuery: "list-query.json" }, "list query validator");
  return { create, listQuery };
}
