// The source layout holds its promises: no runtime import cycle in src/, the request code (src/request/) loaded only
// by a client's first call, every file opening with its concern, and no hand-written line over 120 characters.
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

/**
 * The src files a file imports at run time: `import … from`, `export … from` and `import()`. Type-only imports
 * (`import type`, `export type`) are left out: they cost nothing at run time, so they may cross any boundary.
 */
function importsOf(file: string, kinds: { dynamic: boolean }): string[] {
  const text = readFileSync(file, "utf8");
  const statics = [...text.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?\sfrom\s+"(\.{1,2}\/[^"]+)"/gm)];
  const bare = [...text.matchAll(/^import\s+"(\.{1,2}\/[^"]+)"/gm)];
  const dynamic = kinds.dynamic ? [...text.matchAll(/import\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g)] : [];
  return [...statics, ...bare, ...dynamic]
    .map((m) => resolve(dirname(file), m[1]!.replace(/\.js$/, ".ts")))
    .filter((path) => path.startsWith(join(root, "src")));
}

/** Every cycle found by a depth-first walk over runtime imports, as the files along it. */
function cycles(): string[][] {
  const graph = new Map(sources.map((file) => [file, importsOf(file, { dynamic: true })]));
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

/** The files a module loads up front: everything reachable through static runtime imports. */
function upFront(entry: string): string[] {
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const next of importsOf(file, { dynamic: false })) walk(next);
  };
  walk(join(root, entry));
  return [...seen].map((f) => relative(root, f));
}

describe("src/ layout", () => {
  it("has no runtime import cycle", () => {
    expect(cycles()).toEqual([]);
  });

  it("loads nothing of src/request/ up front from the root entry: the request code comes with the first call", () => {
    const entry = upFront("src/index.ts");
    expect(entry).toContain("src/client.ts");
    expect(entry.filter((file) => file.startsWith("src/request/"))).toEqual([]);
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

/** The longest line a hand-written file may hold: Biome formats at this width but cannot break strings or comments. */
const maxLine = 120;

/**
 * The hand-written files: all of src/, mocks/ (but its media), scripts/ and test/, and the root's *.ts. Walked rather
 * than listed by `git ls-files`, so the unit project starts no child process; nothing under these folders is ignored.
 */
function handWritten(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      if (path === join(root, "mocks", "media") || name === "node_modules") return [];
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
  const top = readdirSync(root).filter((name) => name.endsWith(".ts") && statSync(join(root, name)).isFile());
  return [
    ...["src", "mocks", "scripts", "test"].flatMap((dir) => walk(join(root, dir))),
    ...top.map((n) => join(root, n)),
  ];
}

describe("hand-written files", () => {
  it(`have no line over ${maxLine} characters`, () => {
    const long = handWritten().flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .flatMap((line, i) => {
          const length = [...line].length;
          return length > maxLine ? [`${relative(root, file)}:${i + 1}: ${length}`] : [];
        }),
    );
    expect(long).toEqual([]);
  });
});
