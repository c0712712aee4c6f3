// The npm package: what `npm pack` ships and never ships, publint and attw clean, and the tarball installed into a
// fresh folder works from `import` and `require` on this Node. The build itself runs once in test/global-setup.ts.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { publint } from "publint";
import { formatMessage } from "publint/utils";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);
const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8"));

/** Entry points whose source another change has not landed yet: checked as soon as the source exists. */
const pending = {
  "./proxy": !existsSync(join(root, "src/proxy.ts")),
  bin: !existsSync(join(root, "src/cli.ts")),
};

function run(file: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: "1" } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const npm = (args: string[], cwd: string) => run(process.platform === "win32" ? "npm.cmd" : "npm", args, cwd);

let work = "";
let tarball = "";
let files: string[] = [];

const buildError = inject("buildError");
it("builds (code and spec, once per run in test/global-setup.ts)", () => {
  expect(buildError, `the build failed, so the package cannot be checked:\n${buildError}`).toBeNull();
});

describe.skipIf(buildError !== null)("the package", () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "kling-pack-"));
    // A real pack (not --dry-run): the same file list, plus a tarball for attw and the install test.
    const packed = await npm(["pack", "--json", "--ignore-scripts", "--pack-destination", work], root);
    if (packed.code !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    if (!info) throw new Error("npm pack printed no result");
    tarball = join(work, info.filename);
    files = info.files.map((f) => f.path).sort();
  }, 30_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  describe("the tarball", () => {
    it("holds the code, its types, the three spec files, README, LICENSE and CHANGELOG", () => {
      const required = [
        "package.json",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        "dist/src/index.js",
        "dist/src/index.d.ts",
        "dist/generated/openapi.d.ts",
        "openapi/openapi.yaml",
        "openapi/openapi.json",
        "openapi/openapi-3.0.json",
        "dist/mocks/index.js",
        "mocks/media/audio.mp3",
        "mocks/media/audio.wav",
        "mocks/media/video.mp4",
        "mocks/media/media.json",
      ];
      if (!pending.bin) required.push(pkg.bin["kling-v2a"].replace(/^\.\//, ""));
      if (!pending["./proxy"]) required.push("dist/src/proxy.js", "dist/src/proxy.d.ts");
      expect(required.filter((f) => !files.includes(f))).toEqual([]);
    });

    it("holds every file that package.json points at", () => {
      const targets = new Set<string>([pkg.main, pkg.types]);
      for (const [key, value] of Object.entries<any>(pkg.exports)) {
        if (key === "./proxy" && pending["./proxy"]) continue;
        for (const target of typeof value === "string" ? [value] : Object.values<string>(value)) targets.add(target);
      }
      if (!pending.bin) for (const target of Object.values<string>(pkg.bin)) targets.add(target);
      expect([...targets].map((t) => t.replace(/^\.\//, "")).filter((t) => !files.includes(t))).toEqual([]);
    });

    it("holds no tests, sources, fixtures, secrets, reports, source maps or the HTML reference", () => {
      const forbidden = [
        /^(src|test|tests|scripts|mocks\/(?!media\/)|generated|reports|artifacts|node_modules|\.changeset|\.ci|\.github)\//,
        /(^|\/)node_modules\//,
        /(^|\/)\.env/,
        /(^|\/)\.npmrc$/,
        /\.tgz$/,
        /\.map$/,
        /\.(test|spec|test-d)\.[cm]?[jt]s$/,
        /(^|\/)fixtures?\//,
        /\.tmp(\.json)?$/,
        /^dist\/docs\//,
        /^(tsconfig.*\.json|vitest\.config\.ts|redocly\.yaml|package-lock\.json|\.gitignore)$/,
      ];
      expect(files.filter((f) => forbidden.some((re) => re.test(f)))).toEqual([]);
      // The mock's media fixtures ship as they are (tens of kB), beside the code that serves them.
      const media = /^mocks\/media\/(audio\.mp3|audio\.wav|video\.mp4|media\.json)$/;
      expect(files.filter((f) => !media.test(f) && !/^(dist\/(src|generated|mocks)\/.*\.(js|d\.ts)|openapi\/openapi(\.yaml|\.json|-3\.0\.json)|package\.json|README\.md|LICENSE|CHANGELOG\.md)$/.test(f))).toEqual([]);
    });
  });

  describe("package.json", () => {
    it("keeps openapi-fetch the only runtime dependency and Prism an optional peer", () => {
      expect(Object.keys(pkg.dependencies)).toEqual(["openapi-fetch"]);
      // The mock imports these three directly (not prism-cli), at the versions that work on Node 20.
      // The BullMQ workers (./bullmq) need bullmq and ioredis; the SDK itself never loads them.
      expect(pkg.peerDependencies).toEqual({ "@stoplight/prism-core": "5.8.0", "@stoplight/prism-http": "5.12.0", "@stoplight/prism-http-server": "5.12.2", bullmq: "^6.7.0", ioredis: "^5.9.3" });
      for (const name of Object.keys(pkg.peerDependencies)) expect(pkg.peerDependenciesMeta?.[name]?.optional).toBe(true);
      expect(pkg.sideEffects).toBe(false);
      expect(pkg.type).toBe("module");
    });

    it("is clean for publint (strict: warnings count)", async () => {
      const bytes = await readFile(tarball);
      const { messages, pkg: linted } = await publint({
        // the tarball itself: publint lints exactly what would be published
        pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer },
        level: "warning",
        strict: true,
      });
      const problems = messages
        .filter((m) => !(pending["./proxy"] && m.path[0] === "exports" && m.path[1] === "./proxy"))
        .filter((m) => !(pending.bin && m.path[0] === "bin"))
        .map((m) => `${m.type}: ${formatMessage(m, linted, { color: false })}`);
      expect(problems).toEqual([]);
    });

    it("is clean for @arethetypeswrong/cli (esm-only profile)", async () => {
      const exclude = ["./openapi.yaml", "./openapi.json", "./openapi-3.0.json", "./package.json", ...(pending["./proxy"] ? ["./proxy"] : [])];
      const attwPkg = require.resolve("@arethetypeswrong/cli/package.json");
      const attw = join(dirname(attwPkg), require(attwPkg).bin.attw);
      const result = await run(process.execPath, [attw, tarball, "--profile", "esm-only", "--format", "json", "--exclude-entrypoints", ...exclude], root);
      let report: any;
      try {
        report = JSON.parse(result.stdout);
      } catch {
        throw new Error(`attw printed no JSON (exit ${result.code}):\n${result.stdout}${result.stderr}`);
      }
      expect(Object.keys(report.analysis.entrypoints)).toContain(".");
      const ignored = new Set(["node10", "node16-cjs"]); // what the esm-only profile ignores (attw dist/profiles.js)
      const problems = Object.values<any[]>(report.problems ?? {})
        .flat()
        .filter((p) => !ignored.has(p.resolutionKind));
      expect(problems).toEqual([]);
      expect(result.code, result.stderr).toBe(0);
    });
  });

  describe("installed from the tarball into a fresh folder", () => {
    let consumer = "";

    beforeAll(async () => {
      consumer = join(work, "consumer");
      await rm(consumer, { recursive: true, force: true });
      await mkdir(consumer);
      await writeFile(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, version: "1.0.0" }));
      const installed = await npm(["install", tarball, "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock"], consumer);
      if (installed.code !== 0) throw new Error(`npm install of the tarball failed:\n${installed.stderr}`);
    }, 60_000);

    it("brings in openapi-fetch and nothing else at run time (Prism is an optional peer)", async () => {
      const top = (await readdir(join(consumer, "node_modules"))).filter((n) => !n.startsWith("."));
      expect(top.sort()).toEqual(["kling-video-to-audio", "openapi-fetch", "openapi-typescript-helpers"]);
    });

    it("works from import and from require, and resolves the spec files", async () => {
      const script = `
        const esm = await import("kling-video-to-audio");
        const { createRequire } = await import("node:module");
        const require = createRequire(process.cwd() + "/");
        const cjs = require("kling-video-to-audio");
        const fs = await import("node:fs");
        const spec = JSON.parse(fs.readFileSync(new URL(import.meta.resolve("kling-video-to-audio/openapi.json")), "utf8"));
        const spec30 = require("kling-video-to-audio/openapi-3.0.json");
        const yaml = fs.readFileSync(require.resolve("kling-video-to-audio/openapi.yaml"), "utf8");
        console.log(JSON.stringify({
          esm: typeof esm.createClient, cjs: typeof cjs.createClient, same: esm.createClient === cjs.createClient,
          version: require("kling-video-to-audio/package.json").version,
          openapi: spec.openapi, openapi30: spec30.openapi, yaml: yaml.startsWith("openapi: 3.1"),
        }));`;
      const result = await run(process.execPath, ["--input-type=module", "--no-warnings", "-e", script], consumer);
      expect(result.stderr).toBe("");
      expect(JSON.parse(result.stdout)).toEqual({
        esm: "function",
        cjs: "function",
        same: true,
        version: pkg.version,
        openapi: "3.1.0",
        openapi30: "3.0.3",
        yaml: true,
      });
    });

    it("works from a CommonJS file's require()", async () => {
      await writeFile(join(consumer, "check.cjs"), `const k = require("kling-video-to-audio"); console.log(typeof k.createClient, typeof k.KlingError);\n`);
      const result = await run(process.execPath, ["--no-warnings", "check.cjs"], consumer);
      expect(result.stderr).toBe("");
      expect(result.stdout.trim()).toBe("function function");
    });
  });
});
