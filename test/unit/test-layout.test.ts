// The test folders hold their rule: every test file is in a vitest project's folder, a file injects only what its
// project's global setup provides, and scripts/ (maintainer tooling) imports nothing from test/.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import config from "../../vitest.config.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "node_modules" ? [] : filesUnder(path);
    return /\.m?ts$/.test(name) ? [path] : [];
  });
}

interface Project {
  name: string;
  /** The folder its files live in, from its `include` (`test/<folder>/**\/*.test.ts`). */
  folder: string;
  /** What its global setup files hand the tests (`project.provide("<key>", …)`). */
  provides: string[];
}

const projects: Project[] = (config.test?.projects ?? []).map((entry) => {
  const test = (entry as { test: { name: string; include: string[]; globalSetup?: string[] } }).test;
  const folder = test.include[0]!.replace(/\/\*\*.*$/, "");
  const setups = test.globalSetup ?? [];
  const provides = setups.flatMap((file) =>
    [...readFileSync(join(root, file), "utf8").matchAll(/\.provide\("(\w+)"/g)].map((m) => m[1]!),
  );
  return { name: test.name, folder, provides };
});

/** The files a file imports with a relative specifier (static, type-only or dynamic), as absolute .ts paths. */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)]
    .map((m) => resolve(dirname(file), m[1]!.replace(/\.js$/, ".ts")))
    .filter((path) => existsSync(path));
}

/** The keys a test file reads with `inject("<key>")`, itself or through the test/ helpers it imports. */
function injectedKeys(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file) || !file.startsWith(join(root, "test"))) return [];
  seen.add(file);
  const own = [...readFileSync(file, "utf8").matchAll(/\binject\("(\w+)"\)/g)].map((m) => m[1]!);
  return [...new Set([...own, ...relativeImports(file).flatMap((next) => injectedKeys(next, seen))])];
}

const testFiles = filesUnder(join(root, "test")).filter((f) => /\.test(-d)?\.ts$/.test(f));

describe("test/ layout", () => {
  it("has the five projects, each in a folder of its own", () => {
    expect(projects.map((p) => p.name).sort()).toEqual(["contract", "integration", "journeys", "perf", "unit"]);
    expect(new Set(projects.map((p) => p.folder)).size).toBe(projects.length);
  });

  it("every test file sits in a project's folder (a file elsewhere would never run)", () => {
    const homeless = testFiles.filter((file) => !projects.some((p) => file.startsWith(join(root, p.folder, "/"))));
    expect(homeless.map((f) => relative(root, f))).toEqual([]);
  });

  it("a test file injects only what its project's global setup provides", () => {
    const wrong = testFiles.flatMap((file) => {
      const project = projects.find((p) => file.startsWith(join(root, p.folder, "/")));
      const missing = injectedKeys(file).filter((key) => !project?.provides.includes(key));
      return missing.map((key) => `${relative(root, file)} injects ${key}, which ${project?.name} does not provide`);
    });
    expect(wrong).toEqual([]);
  });

  it("the unit project has no global setup: it starts no Prism, builds nothing, packs nothing", () => {
    const unit = config.test?.projects?.find((entry) => (entry as { test: { name: string } }).test.name === "unit");
    expect((unit as { test: { globalSetup?: string[] } }).test.globalSetup).toBeUndefined();
  });

  it("scripts/ imports nothing from test/ (maintainer tooling does not depend on the tests)", () => {
    const crossing = filesUnder(join(root, "scripts")).flatMap((file) =>
      relativeImports(file)
        .filter((path) => path.startsWith(join(root, "test", "/")))
        .map((path) => `${relative(root, file)} -> ${relative(root, path)}`),
    );
    expect(crossing).toEqual([]);
  });
});
