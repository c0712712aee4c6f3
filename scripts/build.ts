// `npm run build`: dist/ (tsc), the published spec (openapi/openapi.json bundled, openapi/openapi-3.0.json
// down-converted for 3.0-only generators) and the static HTML reference (dist/docs/index.html, self-contained).
//
//   tsx scripts/build.ts                    everything
//   tsx scripts/build.ts --skip-docs        code and spec only (what the tests need)
//   tsx scripts/build.ts --only=spec,docs   a subset of: code, spec, docs
//
// The three steps run concurrently. Exported `build()` is used by test/setup/build.ts.
import { execFile } from "node:child_process";
import { cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Converter } from "@apiture/openapi-down-convert";
import { Validator } from "@seriousme/openapi-schema-validator";

export type BuildPart = "code" | "spec" | "docs";
export const ALL_PARTS: readonly BuildPart[] = ["code", "spec", "docs"];

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);
const TSC = require.resolve("typescript/bin/tsc");
const REDOCLY = require.resolve("@redocly/cli/bin/cli.js");

export const OUTPUTS = {
  specYaml: "openapi/openapi.yaml",
  specJson: "openapi/openapi.json",
  spec30: "openapi/openapi-3.0.json",
  docs: "dist/docs/index.html",
} as const;

/** Start times of the last successful code and spec builds, for `ifChanged`. */
const STAMPS = { code: "dist/.code-stamp", spec: "dist/.spec-stamp" } as const;

/** Redocly phones home (telemetry, update check) on every run unless told not to: slow, and pointless offline. */
const QUIET_ENV = { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" };

function run(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [file, ...args],
      { cwd: root, env: QUIET_ENV, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve();
        // Redocly prints a Node 20 end-of-life box on every run: show output only on failure.
        reject(new Error(`${relative(root, file)} ${args.join(" ")} failed (exit ${error.code}):\n${stdout}${stderr}`));
      },
    );
  });
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

// ---------------------------------------------------------------------------------------------
// OpenAPI 3.1 → 3.0
// ---------------------------------------------------------------------------------------------

type Json = any; // the spec is untyped JSON here

const SCHEMA_LIST_KEYS = ["allOf", "anyOf", "oneOf"] as const;
/**
 * 2020-12 keywords with no 3.0 equivalent that the converter leaves alone: refuse rather than publish an invalid 3.0
 * file.
 */
const UNSUPPORTED_30 = [
  "prefixItems",
  "$defs",
  "dependentRequired",
  "dependentSchemas",
  "if",
  "then",
  "else",
  "contains",
  "minContains",
  "maxContains",
  "unevaluatedItems",
  "$anchor",
  "$dynamicRef",
  "$dynamicAnchor",
];

/**
 * Calls `visit` on every schema object (components/schemas and every `schema` of a parameter, header or media type),
 * parents first.
 */
export function forEachSchema(doc: Json, visit: (schema: Json, where: string) => void): void {
  const walkSchema = (schema: Json, where: string): void => {
    if (!schema || typeof schema !== "object" || Array.isArray(schema)) return;
    visit(schema, where); // before the children: it may restructure them
    for (const key of SCHEMA_LIST_KEYS) {
      if (Array.isArray(schema[key]))
        for (const [i, s] of (schema[key] as Json[]).entries()) walkSchema(s, `${where}/${key}/${i}`);
    }
    for (const [name, s] of Object.entries<Json>(schema.properties ?? {})) walkSchema(s, `${where}/properties/${name}`);
    for (const key of ["items", "not", "additionalProperties"]) walkSchema(schema[key], `${where}/${key}`);
  };
  const walkDoc = (node: Json, where: string): void => {
    if (!node || typeof node !== "object") return;
    if (Array.isArray(node)) {
      for (const [i, n] of node.entries()) walkDoc(n, `${where}/${i}`);
      return;
    }
    for (const [key, child] of Object.entries<Json>(node)) {
      if (key === "example" || key === "examples") continue; // example values are data, not schemas
      if (key === "schema") walkSchema(child, `${where}/schema`);
      else if (key === "schemas" && where === "#/components") {
        for (const [name, s] of Object.entries<Json>(child)) walkSchema(s, `#/components/schemas/${name}`);
      } else walkDoc(child, `${where}/${key}`);
    }
  };
  walkDoc(doc, "#");
}

/** Replaces boolean subschemas (`video_url: false`), which 3.0 cannot hold, by `{ not: {} }` / `{}`. */
function replaceBooleanSchemas(schema: Json): void {
  const fix = (s: Json) => (s === false ? { not: {} } : s === true ? {} : s);
  if (schema.properties)
    for (const name of Object.keys(schema.properties)) schema.properties[name] = fix(schema.properties[name]);
  for (const key of SCHEMA_LIST_KEYS) if (Array.isArray(schema[key])) schema[key] = schema[key].map(fix);
  for (const key of ["items", "not"]) if (typeof schema[key] === "boolean") schema[key] = fix(schema[key]);
  // `additionalProperties: true|false` is valid 3.0 and stays.
}

/**
 * `unevaluatedProperties: false` over an `allOf` (a closed object assembled from parts) has no 3.0 form: the converter
 * just drops it, and `additionalProperties: false` on an allOf branch would reject the other parts' properties.
 * When every part is a plain object schema, merge the parts into one object with `additionalProperties: false`,
 * which says the same thing in 3.0. A property set to `false` (forbidden) is then simply left out: the closed object
 * already rejects it. Returns false (and leaves the schema alone) when the parts cannot be merged.
 */
function flattenClosedAllOf(schema: Json, doc: Json): boolean {
  if (schema.unevaluatedProperties !== false || !Array.isArray(schema.allOf)) return false;
  const allowed = new Set(["type", "properties", "required", "description", "title"]);
  if (Object.keys(schema).some((k) => !allowed.has(k) && k !== "allOf" && k !== "unevaluatedProperties")) return false;
  if (schema.type && schema.type !== "object") return false;
  const properties: Record<string, Json> = { ...(schema.properties ?? {}) };
  const required = new Set<string>(schema.required ?? []);
  for (const part0 of schema.allOf) {
    let part = part0;
    if (typeof part?.$ref === "string" && part.$ref.startsWith("#/components/schemas/")) {
      part = doc.components.schemas[part.$ref.slice("#/components/schemas/".length)];
    }
    if (
      !part ||
      typeof part !== "object" ||
      Object.keys(part).some((k) => !allowed.has(k)) ||
      (part.type && part.type !== "object")
    )
      return false;
    for (const [name, s] of Object.entries<Json>(part.properties ?? {})) {
      if (name in properties && JSON.stringify(properties[name]) !== JSON.stringify(s)) return false;
      properties[name] = s;
    }
    for (const name of part.required ?? []) required.add(name);
  }
  for (const [name, s] of Object.entries<Json>(properties))
    if (s === false && !required.has(name)) delete properties[name];
  const { title, description } = schema;
  for (const key of Object.keys(schema)) delete schema[key];
  Object.assign(schema, title === undefined ? {} : { title }, description === undefined ? {} : { description }, {
    type: "object",
    ...(required.size > 0 ? { required: [...required] } : {}), // 3.0 forbids an empty `required`
    properties,
    additionalProperties: false,
  });
  return true;
}

/**
 * Pointers of the array schemas that lack `items`. JSON Schema 2020-12 allows that, OpenAPI 3.0 does not ("items MUST
 * be present if type is array"): kin-openapi and orval refuse such a file, and the JSON-Schema-based 3.0 validators
 * do not notice.
 */
export function arraysWithoutItems(doc: Json): string[] {
  const missing: string[] = [];
  forEachSchema(doc, (schema, where) => {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (types.includes("array") && schema.items === undefined) missing.push(where);
  });
  return missing;
}

/** Notes on what the 3.0 file could not keep, printed by the build (and listed in docs/spec.md). */
export interface DownConvertResult {
  doc: Json;
  notes: string[];
}

/** Converts the bundled 3.1 document to 3.0.3: @apiture/openapi-down-convert, plus the few fixes it does not make. */
export function downConvert(doc31: Json): DownConvertResult {
  const notes: string[] = [];
  const doc = structuredClone(doc31);

  // Before the converter (it would drop unevaluatedProperties and keep boolean schemas).
  forEachSchema(doc, (schema, where) => {
    if (flattenClosedAllOf(schema, doc))
      notes.push(
        `${where}: allOf + unevaluatedProperties:false merged into one object with additionalProperties:false`,
      );
    else if (schema.unevaluatedProperties === false)
      notes.push(`${where}: unevaluatedProperties:false dropped (unknown fields accepted in 3.0)`);
    for (const key of UNSUPPORTED_30)
      if (key in schema) throw new Error(`${where}: "${key}" has no OpenAPI 3.0 form; extend scripts/build.ts`);
    if ("const" in schema) {
      // The converter skips falsy constants (`const: 0`, `const: false`).
      schema.enum = [schema.const];
      delete schema.const;
    }
    if (typeof schema.exclusiveMinimum === "number") {
      schema.minimum = schema.exclusiveMinimum;
      schema.exclusiveMinimum = true;
    }
    if (typeof schema.exclusiveMaximum === "number") {
      schema.maximum = schema.exclusiveMaximum;
      schema.exclusiveMaximum = true;
    }
    if (Array.isArray(schema.type) && !(schema.type.length === 2 && schema.type.includes("null"))) {
      throw new Error(`${where}: type ${JSON.stringify(schema.type)} has no OpenAPI 3.0 form`);
    }
    replaceBooleanSchemas(schema);
  });

  const out: Json = new Converter(doc, { verbose: false, allOfTransform: false }).convert();

  // After it: 3.1 top-level and info fields it does not remove.
  if ("jsonSchemaDialect" in out) delete out.jsonSchemaDialect;
  if (out.info && "summary" in out.info) {
    notes.push("info.summary dropped (3.0 has none; info.description says the same)");
    delete out.info.summary;
  }
  if (out.components && "pathItems" in out.components) throw new Error("components.pathItems has no OpenAPI 3.0 form");
  if (doc31.webhooks) notes.push("webhooks dropped");
  if (doc31.info?.license?.identifier)
    notes.push(`info.license.identifier dropped (name "${doc31.info.license.name}" stays)`);
  const untyped = arraysWithoutItems(out);
  if (untyped.length > 0)
    throw new Error(
      `${untyped.join(", ")}: an array without "items" is not valid OpenAPI 3.0; give it items (\`items: {}\` for ` +
        `any) in ${OUTPUTS.specYaml}`,
    );
  return { doc: out, notes };
}

// ---------------------------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------------------------

const CODE_DIRS = ["src", "generated", "mocks"] as const;
const CODE_INPUTS = [...CODE_DIRS, "tsconfig.json", "tsconfig.build.json", "package.json"];
const SPEC_INPUTS = [OUTPUTS.specYaml, "scripts/build.ts", "redocly.yaml", "package-lock.json"];

/** The newest modification time (ms) among the given files and folders, folders searched recursively (their own mtime
 *  too, so an added or deleted file counts). */
async function newestMtime(paths: readonly string[]): Promise<number> {
  let newest = 0;
  for (const path of paths) {
    const full = `${root}${path}`;
    let s: Awaited<ReturnType<typeof stat>>;
    try {
      s = await stat(full);
    } catch {
      continue;
    }
    newest = Math.max(newest, s.mtimeMs);
    if (s.isDirectory()) {
      for (const entry of await readdir(full, { recursive: true, withFileTypes: true })) {
        newest = Math.max(newest, (await stat(`${entry.parentPath}/${entry.name}`)).mtimeMs);
      }
    }
  }
  return newest;
}

/**
 * True when the outputs exist and `stamp` (written by an earlier build, holding its start time) is newer than every
 * input.
 */
async function upToDate(stamp: string, inputs: readonly string[], outputs: readonly string[]): Promise<boolean> {
  try {
    const startedAt = Number(await readFile(`${root}${stamp}`, "utf8"));
    for (const output of outputs) await stat(`${root}${output}`);
    return (await newestMtime(inputs)) < startedAt;
  } catch {
    return false;
  }
}

/**
 * The package's entry points (package.json `exports` and `bin`, and the CLI's module, which a test imports), bundled by
 * esbuild over tsc's declarations: Node's ESM loader costs about half a millisecond per module, so one-concern files
 * would otherwise make the import slow. Code shared by entries goes to `dist/chunks/`, one copy of every class.
 */
const BUNDLE_ENTRIES = [
  "src/index.ts",
  "src/callbacks.ts",
  "src/proxy/index.ts",
  "src/bullmq/index.ts",
  "src/preflight/index.ts",
  "src/cli/bin.ts",
  "src/cli/main.ts",
  "mocks/index.ts",
  "mocks/msw.ts",
];

async function bundle(outdir: string): Promise<void> {
  const esbuild = await import("esbuild");
  const pkg = JSON.parse(await readFile(`${root}package.json`, "utf8")) as Record<
    string,
    Record<string, string> | undefined
  >;
  const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {}), "ioredis"];
  // tsc's JavaScript is replaced by the bundles; its declarations (and their maps) stay for the types.
  for (const dir of CODE_DIRS) {
    for (const entry of await readdir(`${root}${outdir}/${dir}`, { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && /\.js(\.map)?$/.test(entry.name)) await rm(`${entry.parentPath}/${entry.name}`);
    }
  }
  await esbuild.build({
    entryPoints: BUNDLE_ENTRIES.map((path) => `${root}${path}`),
    outbase: root,
    outdir: `${root}${outdir}`,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    target: "es2022",
    chunkNames: "chunks/[name]-[hash]",
    external: [...external, "node:*"],
    logLevel: "warning",
  });
}

async function buildCode(): Promise<string[]> {
  const startedAt = Date.now();
  // tsc writes to a sibling of dist/ at the same depth (so source-map paths stay right), then each folder is swapped
  // in: another test run reading dist/ at the same time never sees it half-written, and a failed tsc leaves dist/
  // alone.
  const tmp = `.dist-tmp-${process.pid}`;
  await rm(`${root}${tmp}`, { recursive: true, force: true });
  try {
    await run(TSC, ["-p", "tsconfig.build.json", "--outDir", tmp]);
    await bundle(tmp);
    await mkdir(`${root}dist`, { recursive: true });
    for (const dir of [...CODE_DIRS, "chunks"]) {
      await rm(`${root}dist/${dir}`, { recursive: true, force: true });
      await rename(`${root}${tmp}/${dir}`, `${root}dist/${dir}`);
    }
  } finally {
    await rm(`${root}${tmp}`, { recursive: true, force: true });
  }
  await writeFile(`${root}${STAMPS.code}`, String(startedAt));
  return [...CODE_DIRS, "chunks"].map((d) => `dist/${d}`);
}

/** The code part as `checkout` built it (same sources, so the same output), swapped in folder by folder. */
async function copyCode(checkout: string): Promise<string[]> {
  const dirs = [...CODE_DIRS, "chunks"];
  const tmp = `${root}.dist-copy-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    for (const dir of dirs) await cp(`${checkout}/dist/${dir}`, `${tmp}/${dir}`, { recursive: true });
    await mkdir(`${root}dist`, { recursive: true });
    for (const dir of dirs) {
      await rm(`${root}dist/${dir}`, { recursive: true, force: true });
      await rename(`${tmp}/${dir}`, `${root}dist/${dir}`);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  await cp(`${checkout}/${STAMPS.code}`, `${root}${STAMPS.code}`);
  return dirs.map((d) => `dist/${d}`);
}

/** The spec part as `checkout` built it, each file swapped in whole. */
async function copySpec(checkout: string): Promise<string[]> {
  const files = [OUTPUTS.specJson, OUTPUTS.spec30];
  for (const file of files) {
    await cp(`${checkout}/${file}`, `${root}${file}.${process.pid}.tmp`);
    await rename(`${root}${file}.${process.pid}.tmp`, `${root}${file}`);
  }
  await mkdir(`${root}dist`, { recursive: true });
  await cp(`${checkout}/${STAMPS.spec}`, `${root}${STAMPS.spec}`);
  return files;
}

async function buildSpec(log: (line: string) => void): Promise<string[]> {
  const startedAt = Date.now();
  const tmp = `${root}${OUTPUTS.specJson}.${process.pid}.tmp.json`;
  await run(REDOCLY, ["bundle", OUTPUTS.specYaml, "-o", tmp]);
  await rename(tmp, `${root}${OUTPUTS.specJson}`);

  const doc31 = JSON.parse(await readFile(`${root}${OUTPUTS.specJson}`, "utf8"));
  const { doc, notes } = downConvert(doc31);
  const validator = new Validator();
  const result = await validator.validate(structuredClone(doc));
  if (!result.valid || validator.version !== "3.0") {
    throw new Error(
      `${OUTPUTS.spec30} is not valid OpenAPI 3.0 (${validator.version}):\n${JSON.stringify(result.errors, null, 2)}`,
    );
  }
  await writeAtomic(`${root}${OUTPUTS.spec30}`, `${JSON.stringify(doc, null, 2)}\n`);
  for (const note of notes) log(`  3.0: ${note}`);
  await mkdir(`${root}dist`, { recursive: true });
  await writeFile(`${root}${STAMPS.spec}`, String(startedAt));
  return [OUTPUTS.specJson, OUTPUTS.spec30];
}

async function buildDocs(): Promise<string[]> {
  await rm(`${root}dist/docs`, { recursive: true, force: true });
  await mkdir(`${root}dist/docs`, { recursive: true });
  // --inlineBundle embeds Redoc's script: without it the page imports it from Redocly's CDN.
  await run(REDOCLY, [
    "build-docs",
    OUTPUTS.specYaml,
    "-o",
    OUTPUTS.docs,
    "--inlineBundle",
    "--title",
    "Kling Video-to-Audio API reference",
  ]);
  return [OUTPUTS.docs];
}

async function sizeOf(path: string): Promise<{ files: number; bytes: number }> {
  const s = await stat(path);
  if (!s.isDirectory()) return { files: 1, bytes: s.size };
  let files = 0;
  let bytes = 0;
  for (const entry of await readdir(path, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    files++;
    bytes += (await stat(`${entry.parentPath}/${entry.name}`)).size;
  }
  return { files, bytes };
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

export interface BuildOptions {
  parts?: readonly BuildPart[];
  /** Where progress goes. @default console.log */
  log?: (line: string) => void;
  /** Skip the code or spec step when its outputs are newer than all its inputs (for tests; `npm run build` always
   *  rebuilds). @default false */
  ifChanged?: boolean;
  /**
   * A checkout of the same sources that another process is building (the journeys' fresh copy, built by its
   * prepack): when it resolves to that folder, its code and spec outputs are copied in instead of built a second time;
   * when it resolves to `undefined` (that build failed), they are built here. For tests. @default undefined
   */
  reuse?: Promise<string | undefined>;
}

/** Builds the given parts concurrently; rejects with the first failure (after all have settled). */
export async function build(options: BuildOptions = {}): Promise<string[]> {
  const parts = options.parts ?? ALL_PARTS;
  const log = options.log ?? ((line: string) => console.log(line));
  const started = performance.now();
  // A full build starts from an empty dist/ (nothing stale gets packed); partial builds replace only their own outputs.
  if (ALL_PARTS.every((p) => parts.includes(p))) await rm(`${root}dist`, { recursive: true, force: true });
  const steps: Promise<string[]>[] = [];
  const skip = async (part: BuildPart): Promise<boolean> => {
    if (!options.ifChanged) return false;
    const fresh =
      part === "code"
        ? await upToDate(
            STAMPS.code,
            CODE_INPUTS,
            CODE_DIRS.map((d) => `dist/${d}`),
          )
        : await upToDate(STAMPS.spec, SPEC_INPUTS, [OUTPUTS.specJson, OUTPUTS.spec30]);
    if (fresh) log(`  ${part}: up to date`);
    return fresh;
  };
  const code = async () => {
    const built = await options.reuse;
    return built === undefined ? buildCode() : copyCode(built);
  };
  if (parts.includes("code")) steps.push(skip("code").then((fresh) => (fresh ? [] : code())));
  const spec = async () => {
    const built = await options.reuse;
    return built === undefined ? buildSpec(log) : copySpec(built);
  };
  if (parts.includes("spec")) steps.push(skip("spec").then((fresh) => (fresh ? [] : spec())));
  if (parts.includes("docs")) steps.push(buildDocs());
  const results = await Promise.allSettled(steps);
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failures.length > 0)
    throw new Error(
      failures.map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason))).join("\n\n"),
    );
  const written = results.flatMap((r) => (r as PromiseFulfilledResult<string[]>).value);
  for (const path of written) {
    const { files, bytes } = await sizeOf(`${root}${path}`);
    log(`  wrote ${path.padEnd(28)} ${files > 1 ? `${files} files, ` : ""}${kib(bytes)}`);
  }
  log(`built ${parts.join(", ")} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return written;
}

function partsFromArgs(argv: string[]): BuildPart[] {
  let parts: BuildPart[] = [...ALL_PARTS];
  for (const arg of argv) {
    if (arg === "--skip-docs") parts = parts.filter((p) => p !== "docs");
    else if (arg.startsWith("--only=")) {
      const wanted = arg.slice("--only=".length).split(",");
      const unknown = wanted.filter((p) => !ALL_PARTS.includes(p as BuildPart));
      if (unknown.length > 0) throw new Error(`unknown part(s) ${unknown.join(", ")}: use ${ALL_PARTS.join(", ")}`);
      parts = parts.filter((p) => wanted.includes(p));
    } else throw new Error(`unknown argument ${arg}: use --skip-docs or --only=${ALL_PARTS.join(",")}`);
  }
  return parts;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    await build({ parts: partsFromArgs(process.argv.slice(2)) });
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
