// Writes generated/ from the spec (`npm run generate`); with --check, fails when generated/ has drifted from the spec.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

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
if (check) console.log("generated/ matches the spec");
