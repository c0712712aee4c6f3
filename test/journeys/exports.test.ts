// Journeys of the installed package's entry points: `import` and `require` of every entry of its exports map (read
// from the installed package.json, so entries added later are covered), the spec files, and the README's named exports.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import { type InstalledPackage, installedPackage, killChildren, nodeJson } from "../support/journey.js";

// Each journey runs whole programs (a loaded 2-core machine can make one take seconds): a generous bound, not a speed
// test.
vi.setConfig({ testTimeout: 120_000 });

const NAME = "kling-video-to-audio";

let pkg: InstalledPackage;
let exportsMap: Record<string, unknown>;

beforeAll(async () => {
  pkg = await installedPackage();
  exportsMap = JSON.parse(readFileSync(join(pkg.consumer, "node_modules", NAME, "package.json"), "utf8")).exports;
}, 300_000);

afterAll(killChildren);

const specifier = (entry: string) => (entry === "." ? NAME : `${NAME}/${entry.slice(2)}`);
/** Entries that are data files (the spec, package.json), not modules. */
const isFile = (entry: string) => /\.(ya?ml|json)$/.test(entry);

/** A program that loads each module entry and prints, per entry, the names it exports (or the error). */
function loader(kind: "import" | "require", entries: string[]): string {
  const load =
    kind === "import"
      ? `(s) => import(s)`
      : `(s) => { const { createRequire } = require("node:module"); return createRequire(__filename)(s); }`;
  const body = `
    const load = ${load};
    const out = {};
    for (const s of ${JSON.stringify(entries.map(specifier))}) {
      try {
        const m = await load(s);
        out[s] = {
          names: Object.keys(m).sort(),
          types: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v])),
        };
      } catch (error) {
        out[s] = { error: String(error && error.stack || error) };
      }
    }
    console.log(JSON.stringify(out));`;
  return kind === "import" ? body : `(async () => {${body}\n})();`;
}

describe.concurrent("every entry of the exports map", () => {
  it("lists the SDK, the proxy, the three spec files and package.json", () => {
    expect(Object.keys(exportsMap)).toEqual(
      expect.arrayContaining([
        ".",
        "./proxy",
        "./openapi.yaml",
        "./openapi.json",
        "./openapi-3.0.json",
        "./package.json",
      ]),
    );
  });

  /** Entries that load an optional peer at import; the consumer here installs Prism's peers but not BullMQ or msw. */
  const OPTIONAL_PEER_OF: Record<string, string> = { "./bullmq": "bullmq", "./msw": "msw" };

  for (const kind of ["import", "require"] as const) {
    it(`${kind}s every module entry by name, each exporting something`, async () => {
      const entries = Object.keys(exportsMap).filter((e) => !isFile(e));
      const loaded = await nodeJson<Record<string, { names?: string[]; error?: string }>>(pkg, loader(kind, entries), {
        type: kind === "import" ? "mjs" : "cjs",
      });
      for (const entry of entries) {
        const result = loaded[specifier(entry)];
        const peer = OPTIONAL_PEER_OF[entry];
        if (peer && result?.error) {
          // Installed without its optional peer (as here), the entry fails naming what to install; never silently.
          expect(result.error, `${kind} ${specifier(entry)} without ${peer}`).toContain(`'${peer}'`);
          continue;
        }
        expect(result?.error, `${kind} ${specifier(entry)}`).toBeUndefined();
        expect(result?.names?.length, `${kind} ${specifier(entry)} exports nothing`).toBeGreaterThan(0);
      }
    });
  }

  it("import and require give the same module objects (one copy of each class)", async () => {
    const same = await nodeJson(
      pkg,
      `import { createRequire } from "node:module";
      const require = createRequire(import.meta.url);
      const esm = await import("${NAME}");
      const cjs = require("${NAME}");
      console.log(JSON.stringify({
        createClient: esm.createClient === cjs.createClient,
        KlingError: esm.KlingError === cjs.KlingError,
      }));`,
    );
    expect(same).toEqual({ createClient: true, KlingError: true });
  });

  it(
    "resolves every file entry (the spec, package.json) by name, from import and require, and each " + "parses",
    async () => {
      const files = Object.keys(exportsMap).filter(isFile);
      const result = await nodeJson<
        Record<string, { esm: string; cjs: string; openapi?: string; name?: string; error?: string }>
      >(
        pkg,
        `import { createRequire } from "node:module";
      import { readFileSync } from "node:fs";
      import { fileURLToPath } from "node:url";
      const require = createRequire(import.meta.url);
      const out = {};
      for (const s of ${JSON.stringify(files.map(specifier))}) {
        try {
          const esm = fileURLToPath(import.meta.resolve(s));
          const cjs = require.resolve(s);
          const doc = s.endsWith(".yaml") ? {} : JSON.parse(readFileSync(esm, "utf8"));
          out[s] = { esm, cjs, openapi: doc.openapi, name: doc.name };
        } catch (error) {
          out[s] = { error: String(error) };
        }
      }
      console.log(JSON.stringify(out));`,
      );
      for (const file of files) {
        const r = result[specifier(file)]!;
        expect(r.error, specifier(file)).toBeUndefined();
        expect(r.esm).toBe(r.cjs);
        expect(r.esm.startsWith(join(pkg.consumer, "node_modules", NAME))).toBe(true);
      }
      // The YAML is parsed here (the consumer has no YAML parser), from the file the consumer resolved.
      const yaml = parse(readFileSync(result[`${NAME}/openapi.yaml`]!.esm, "utf8"));
      expect(yaml.openapi).toMatch(/^3\.1\./);
      expect(Object.keys(yaml.paths)).toContain("/v1/audio/video-to-audio");
      expect(result[`${NAME}/openapi.json`]!.openapi).toMatch(/^3\.1\./);
      expect(result[`${NAME}/openapi-3.0.json`]!.openapi).toMatch(/^3\.0\./);
      expect(result[`${NAME}/package.json`]!.name).toBe(NAME);
    },
  );

  it("the spec files sit where the README says: node_modules/kling-video-to-audio/openapi/…", () => {
    for (const file of ["openapi.yaml", "openapi.json", "openapi-3.0.json"]) {
      expect(readFileSync(join(pkg.consumer, "node_modules", NAME, "openapi", file), "utf8").length).toBeGreaterThan(
        1000,
      );
    }
  });
});

describe.concurrent("the names the README promises", () => {
  const promised = {
    [NAME]: [
      "createClient",
      "BASE_URLS",
      "parseCallback",
      "verifyCallback",
      "signCallback",
      "KlingError",
      "KlingApiError",
      "KlingAuthenticationError",
      "KlingPermissionError",
      "KlingAccountError",
      "KlingRateLimitError",
      "KlingInvalidRequestError",
      "KlingPolicyError",
      "KlingServerError",
      "KlingConnectionError",
      "KlingTimeoutError",
      "KlingValidationError",
      "KlingTaskFailedError",
      "KlingCallbackError",
    ],
    [`${NAME}/proxy`]: ["createProxy", "toNodeHandler"],
  };

  for (const kind of ["import", "require"] as const) {
    it(`are all there from ${kind}, functions and classes; the errors extend KlingError and Error`, async () => {
      const result = await nodeJson<Record<string, { types: Record<string, string>; errors: Record<string, boolean> }>>(
        pkg,
        `${kind === "import" ? "" : "(async () => {"}
        const load = ${kind === "import" ? "(s) => import(s)" : "(s) => require(s)"};
        const out = {};
        for (const [s, names] of Object.entries(${JSON.stringify(promised)})) {
          const m = await load(s);
          const types = Object.fromEntries(names.map((n) => [n, typeof m[n]]));
          const errors = Object.fromEntries(names.filter((n) => n.startsWith("Kling")).map((n) => {
            const e = Object.create(m[n].prototype);
            return [n, e instanceof m.KlingError && e instanceof Error];
          }));
          out[s] = { types, errors };
        }
        console.log(JSON.stringify(out));
        ${kind === "import" ? "" : "})();"}`,
        { type: kind === "import" ? "mjs" : "cjs" },
      );
      for (const [entry, names] of Object.entries(promised)) {
        for (const name of names)
          expect(result[entry]!.types[name], `${entry} ${name}`).toMatch(
            name === "BASE_URLS" ? /^object$/ : /^function$/,
          );
        for (const [name, ok] of Object.entries(result[entry]!.errors))
          expect(ok, `${name} extends KlingError`).toBe(true);
      }
    });
  }

  it("BASE_URLS holds the four servers the README lists", async () => {
    const urls = await nodeJson(pkg, `import { BASE_URLS } from "${NAME}"; console.log(JSON.stringify(BASE_URLS));`);
    expect(urls).toEqual({
      deerapi: "https://api.deerapi.com/kling",
      klingSingapore: "https://api-singapore.klingai.com",
      klingBeijing: "https://api-beijing.klingai.com",
      mock: "http://127.0.0.1:4010",
    });
  });
});
