// Writes generated/ from the spec (`npm run generate`); with --check, fails when generated/ has drifted from the spec.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  CALLBACK_VALIDATOR_PATH,
  CREATE_VALIDATOR_PATH,
  compileCallbackValidator,
  compileRequestValidators,
  LIST_QUERY_VALIDATOR_PATH,
} from "./compile-validators.js";
import { FACTS_PATH, GUIDANCE_PATH, generateFacts, LIMITS_PATH, VIDEO_LIMITS_PATH } from "./generate-facts.js";
import { generateMockMedia, generateMockSpec, MOCK_MEDIA_PATH, MOCK_SPEC_PATH } from "./generate-mock-data.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const check = process.argv.includes("--check");

/** openapi-typescript flags chosen for an SDK: stable order, optional `asmr_mode` stays optional, root type aliases. */
const TYPES_ARGS = [
  "openapi/openapi.yaml",
  "-o",
  "generated/openapi.ts",
  "--alphabetize",
  "--default-non-nullable=false",
  "--root-types",
];

function run(args: string[]): void {
  execFileSync(
    process.execPath,
    [`${root}node_modules/openapi-typescript/bin/cli.js`, ...args, ...(check ? ["--check"] : [])],
    {
      cwd: root,
      stdio: check ? "pipe" : "inherit",
    },
  );
}

try {
  run(TYPES_ARGS);
} catch (error) {
  const output = (error as { stdout?: Buffer; stderr?: Buffer }).stderr?.toString() ?? "";
  console.error(
    `generated/ is out of date with openapi/openapi.yaml: run \`npm run generate\` and commit the result.\n${output}`,
  );
  process.exit(1);
}
/** Writes `path`, or with --check fails when what is on disk differs from `text`. */
function emit(path: string, text: string): void {
  if (!check) {
    writeFileSync(`${root}${path}`, text);
    return;
  }
  let onDisk = "";
  try {
    onDisk = readFileSync(`${root}${path}`, "utf8");
  } catch {
    // a missing file is reported as a difference below
  }
  if (onDisk !== text) {
    console.error(
      `generated/ is out of date with openapi/openapi.yaml: run \`npm run generate\` and commit the result.\n${path} ` +
        `differs.`,
    );
    process.exit(1);
  }
}
// The callback validator: ajv standalone code, so the SDK validates callbacks without ajv at runtime.
emit(CALLBACK_VALIDATOR_PATH, compileCallbackValidator());
// The mock's request checks, and what it serves where there is no file system: no rule or example copied by hand.
const requestValidators = compileRequestValidators();
emit(CREATE_VALIDATOR_PATH, requestValidators.create);
emit(LIST_QUERY_VALIDATOR_PATH, requestValidators.listQuery);
emit(MOCK_SPEC_PATH, generateMockSpec());
emit(MOCK_MEDIA_PATH, generateMockMedia());
// The code table and input limits, so src never types a spec fact in by hand.
const { facts, limits, videoLimits, guidance } = generateFacts();
emit(FACTS_PATH, facts);
emit(LIMITS_PATH, limits);
emit(VIDEO_LIMITS_PATH, videoLimits);
emit(GUIDANCE_PATH, guidance);
if (check) console.log("generated/ matches the spec");
