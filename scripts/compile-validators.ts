// Compiles the spec's callback schema into a dependency-free validator module (ajv standalone code) for generated/.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import ucs2length from "ajv/dist/runtime/ucs2length.js";
import standaloneCode from "ajv/dist/standalone/index.js";
import { parse } from "yaml";

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

const HEADER = `// Generated from openapi/openapi.yaml by \`npm run generate\` (scripts/compile-validators.ts): do not edit.
// @ts-nocheck: ajv standalone output; the exports below carry hand-written types.
`;

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

/** Returns the source of generated/callback-validator.ts. Byte-identical for the same spec and ajv version. */
export function compileCallbackValidator(): string {
  // The spec is untyped JSON here.
  const spec: any = parse(readFileSync(SPEC_PATH, "utf8"));
  const schemas = spec?.components?.schemas;
  if (!schemas?.CallbackPayload) throw new Error(`${SPEC_PATH} has no components.schemas.CallbackPayload`);

  // Formats are not validated: the callback schema uses only int64, which `type: integer` already covers,
  // and format checks would pull ajv-formats into the runtime.
  const ajv = new Ajv2020({
    strict: false,
    validateFormats: false,
    inlineRefs: false,
    code: { source: true, esm: true, lines: true },
  });
  const stripped = Object.fromEntries(
    Object.entries<Json>(schemas).map(([name, schema]) => [name, stripAnnotations(schema)]),
  );
  ajv.addSchema({ components: { schemas: stripped } }, "openapi.json");
  const refs = Object.fromEntries(
    Object.entries(EXPORTS).map(([name, schema]) => [name, `openapi.json#/components/schemas/${schema}`]),
  );
  let code = cjsDefault(standaloneCode)(ajv, refs);

  for (const [needle, replacement] of Object.entries(INLINE_RUNTIME)) code = code.split(needle).join(replacement);
  let typed = 0;
  code = code.replace(/export const (\w+) = (validate\d+);/g, (_match, name: string, fn: string) => {
    typed++;
    return `export const ${name}: SchemaValidator = ${fn};`;
  });
  if (typed !== Object.keys(EXPORTS).length)
    throw new Error(`expected ${Object.keys(EXPORTS).length} exports in ajv's output, found ${typed}`);

  const source = `${HEADER}${code.trimEnd()}\n${TYPES}`;
  const runtime = /\brequire\s*\(|^\s*import\b|\bfrom\s*["']ajv|["']ajv(?:-formats)?\//m.exec(source);
  if (runtime) {
    throw new Error(
      `the callback validator would need a runtime module (${JSON.stringify(runtime[0])}); inline it in INLINE_RUNTIME`,
    );
  }
  return source;
}
