// The npm package: `npm pack` on a fresh copy of the sources builds first (prepack), what the tarball ships and never
// ships, publint and attw clean, and what installing it brings in. The tarball is the run's one pack, shared with the
// journeys (test/support/journey.ts), which drive the installed package.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { publint } from "publint";
import { formatMessage } from "publint/utils";
import { beforeAll, describe, expect, it } from "vitest";
import { type InstalledPackage, installedPackage } from "../support/journey.js";
import { buildError as builtError } from "../support/setup-jobs.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const require = createRequire(import.meta.url);
const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8"));

/** Entry points whose source another change has not landed yet: checked as soon as the source exists. */
const pending = {
  "./proxy": !existsSync(join(root, "src/proxy/index.ts")),
  bin: !existsSync(join(root, "src/cli/bin.ts")),
};

function run(file: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: "1" } },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

let installed: InstalledPackage;
let tarball = "";
let files: string[] = [];

const buildError = await builtError();
it("builds (code and spec, once per run in test/setup/build.ts)", () => {
  expect(buildError, `the build failed, so the package cannot be checked:\n${buildError}`).toBeNull();
});

describe.skipIf(buildError !== null)("the package", () => {
  beforeAll(async () => {
    installed = await installedPackage();
    ({ tarball, files } = installed);
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const { packMs, peersMs, installMs, mocksMs } = installed.timings;
    console.log(
      `package: pack (fresh copy, prepack build) ${s(packMs)}, Prism peers' install beside it ${s(peersMs)}; tarball ` +
        `installs after the pack ${s(installMs)}; two mocks started ${s(mocksMs)}`,
    );
  }, 300_000);

  describe("the tarball", () => {
    it("is packed from a copy of the sources with no dist/, so prepack built the code in it", () => {
      expect(installed.distBeforePack).toBe(false);
      expect(pkg.scripts.prepack).toMatch(/build/);
      expect(files).toContain("dist/src/index.js");
    });

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
      if (!pending["./proxy"]) required.push("dist/src/proxy/index.js", "dist/src/proxy/index.d.ts");
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
        /^(src|test|tests|scripts|mocks\/(?!media\/)|generated)\//,
        /^(reports|artifacts|node_modules|\.changeset|\.ci|\.github)\//,
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
      const shipped = [
        /^dist\/(src|generated|mocks)\/.*\.(js|d\.ts)$/,
        /^dist\/chunks\/[\w-]+\.js$/,
        /^openapi\/openapi(\.yaml|\.json|-3\.0\.json)$/,
        /^(package\.json|README\.md|LICENSE|CHANGELOG\.md)$/,
      ];
      expect(files.filter((f) => !media.test(f) && !shipped.some((re) => re.test(f)))).toEqual([]);
    });
  });

  describe("package.json", () => {
    it("keeps openapi-fetch the only runtime dependency and Prism an optional peer", () => {
      expect(Object.keys(pkg.dependencies)).toEqual(["openapi-fetch"]);
      // The mock imports these three directly (not prism-cli), at the versions that work on Node 20.
      // The BullMQ workers (./bullmq) need bullmq and ioredis, the preflight (./preflight) mediabunny; the SDK itself
      // never loads them.
      expect(pkg.peerDependencies).toEqual({
        "@stoplight/prism-core": "5.8.0",
        "@stoplight/prism-http": "5.12.0",
        "@stoplight/prism-http-server": "5.12.2",
        bullmq: "^6.7.0",
        ioredis: "^5.9.3",
        mediabunny: "^1.61.0",
        msw: "^2.0.0",
      });
      for (const name of Object.keys(pkg.peerDependencies))
        expect(pkg.peerDependenciesMeta?.[name]?.optional).toBe(true);
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
      const exclude = [
        "./openapi.yaml",
        "./openapi.json",
        "./openapi-3.0.json",
        "./package.json",
        ...(pending["./proxy"] ? ["./proxy"] : []),
      ];
      const attwPkg = require.resolve("@arethetypeswrong/cli/package.json");
      const attw = join(dirname(attwPkg), require(attwPkg).bin.attw);
      const result = await run(
        process.execPath,
        [attw, tarball, "--profile", "esm-only", "--format", "json", "--exclude-entrypoints", ...exclude],
        root,
      );
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
    it("brings in openapi-fetch and nothing else at run time (Prism is an optional peer)", () => {
      expect(installed.bareTopLevel).toEqual(["kling-video-to-audio", "openapi-fetch", "openapi-typescript-helpers"]);
    });
    // import/require of every entry point, the bin and the SDK: test/journeys/.
  });
});
