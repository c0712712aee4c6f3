// Writes generated/ from the spec (`npm run generate`); with --check, fails when generated/ has drifted from the spec.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CALLBACK_VALIDATOR_PATH, compileCallbackValidator } from "./compile-validators.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const check = process.argv.includes("--check");

/** openapi-typescript flags chosen for an SDK: stable order, optional `asmr_mode` stays optional, root type aliases. */
const TYPES_ARGS = ["openapi/openapi.yaml", "-o", "generated/openapi.ts", "--alphabetize", "--default-non-nullable=false", "--root-types"];

function run(args: string[]): void {
  execFileSync(process.execPath, [`${root}node_modules/openapi-typescript/bin/cli.js`, ...args, ...(check ? ["--check"] : [])], {
    cwd: root,
    stdio: check ? "pipe" : "inherit",
  });
}

try {
  run(TYPES_ARGS);
} catch (error) {
  const output = (error as { stdout?: Buffer; stderr?: Buffer }).stderr?.toString() ?? "";
  console.error(`generated/ is out of date with openapi/openapi.yaml: run \`npm run generate\` and commit the result.\n${output}`);
  process.exit(1);
}
// The callback validator: ajv standalone code, so the SDK validates callbacks without ajv at runtime.
const validator = compileCallbackValidator();
if (check) {
  let onDisk = "";
  try {
    onDisk = readFileSync(`${root}${CALLBACK_VALIDATOR_PATH}`, "utf8");
  } catch {
    // a missing file is reported as a difference below
  }
  if (onDisk !== validator) {
    console.error(`generated/ is out of date with openapi/openapi.yaml: run \`npm run generate\` and commit the result.\n${CALLBACK_VALIDATOR_PATH} differs.`);
    process.exit(1);
  }
} else {
  writeFileSync(`${root}${CALLBACK_VALIDATOR_PATH}`, validator);
}
if (check) console.log("generated/ matches the spec");
