// MSW stays out of every other entry: the root entry's browser bundle holds no msw code, and the msw entry's holds no
// Node built-in (the engine has no node:http, no Prism), so it runs in a page's Service Worker setup.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** What esbuild bundles for a page from `contents` (as scripts/bench.ts bundles the root entry): inputs and code. */
async function browserBundle(contents: string, external: string[] = []): Promise<{ inputs: string[]; code: string }> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    stdin: { contents, resolveDir: root, sourcefile: "bundle-entry.ts", loader: "ts" },
    bundle: true,
    splitting: true,
    outdir: `${root}.msw-bundle`,
    absWorkingDir: root,
    format: "esm",
    platform: "browser",
    target: "es2022",
    external,
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  return {
    inputs: Object.keys(result.metafile.inputs),
    code: result.outputFiles.map((file) => file.text).join("\n"),
  };
}

describe("msw stays in kling-video-to-audio/msw", () => {
  it("the root entry's browser bundle (every chunk) contains no msw code", async () => {
    const { inputs, code } = await browserBundle(`export * from "./src/index.ts";`);
    expect(inputs.filter((input) => /node_modules\/(msw|@mswjs)\//.test(input) || input.startsWith("mocks/"))).toEqual(
      [],
    );
    expect(code).not.toMatch(/\bmsw\b|mockServiceWorker|@mswjs/);
    expect(inputs.length).toBeGreaterThan(5);
  });

  it("the msw entry bundles for a browser with no Node built-in and no Prism", async () => {
    const { inputs, code } = await browserBundle(`export * from "./mocks/msw.ts";`, ["msw"]);
    expect(
      inputs.filter((input) => /^node:|prism|mocks\/(lifecycle|node-post|prism|command)\.ts$/.test(input)),
    ).toEqual([]);
    expect(code).not.toMatch(/from\s*["']node:/);
    expect(inputs).toContain("mocks/engine.ts");
  });
});
