// The source layout holds its promises: no import cycle in src/ (static, type-only or dynamic), one concern per file.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith(".ts") ? [path] : [];
  });
}

const sources = filesUnder(join(root, "src"));

/** The src files a file imports, by any kind of import (`import`, `import type`, `export … from`, `import()`). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((m) => m[1]!);
  return specifiers
    .map((s) => resolve(dirname(file), s.replace(/\.js$/, ".ts")))
    .filter((path) => path.startsWith(join(root, "src")));
}

/** Every cycle found by a depth-first walk, as the files along it. */
function cycles(): string[][] {
  const graph = new Map(sources.map((file) => [file, importsOf(file)]));
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "open")
        found.push([...stack.slice(stack.indexOf(next)), next].map((f) => relative(root, f)));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of sources) if (!state.has(file)) visit(file);
  return found;
}

describe("src/ layout", () => {
  it("has no import cycle", () => {
    expect(cycles()).toEqual([]);
  });

  it("every file starts with a comment that says its one concern", () => {
    const silent = sources.filter((file) => {
      const lines = readFileSync(file, "utf8").split("\n");
      const first = lines[0]!.startsWith("#!") ? lines[1]! : lines[0]!;
      return !first.startsWith("// ");
    });
    expect(silent.map((f) => relative(root, f))).toEqual([]);
  });
});
