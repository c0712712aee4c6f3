// Runs one documentation example as a real module: its package imports pointed at the sources, the names it takes as
// given supplied, its console recorded.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { type Example, root } from "./docs.js";

/**
 * Where the prepared modules are written (git-ignored); inside the repository so that `bullmq` and the sources resolve.
 */
export const RUN_DIR = join(root, ".docs-run");

/**
 * What each import of an example loads instead: the sources of the package's entry points, and small fakes of
 * frameworks the SDK does not depend on.
 */
const MODULES: Record<string, string> = {
  "kling-video-to-audio": "src/index.ts",
  "kling-video-to-audio/proxy": "src/proxy/index.ts",
  "kling-video-to-audio/callbacks": "src/callbacks.ts",
  "kling-video-to-audio/mock": "mocks/index.ts",
  "kling-video-to-audio/msw": "mocks/msw.ts",
  vitest: "test/support/fakes/vitest.ts",
  "msw-storybook-addon": "test/support/fakes/msw-storybook-addon.ts",
  "kling-video-to-audio/bullmq": "src/bullmq/index.ts",
  "kling-video-to-audio/preflight": "src/preflight/index.ts",
  express: "test/support/fakes/express.ts",
  hono: "test/support/fakes/hono.ts",
  "node:http": "test/support/fakes/node-http.ts",
};

/** A `console` that records instead of printing; `assert` records only the failed assertions. */
export interface RecordingConsole {
  calls: Array<{ method: string; args: unknown[] }>;
  /** The arguments of every call of `method`. */
  of(method: string): unknown[][];
  failedAsserts: unknown[][];
}

function recordingConsole(): RecordingConsole & Record<string, unknown> {
  const calls: RecordingConsole["calls"] = [];
  const failedAsserts: unknown[][] = [];
  const record =
    (method: string) =>
    (...args: unknown[]) =>
      void calls.push({ method, args });
  return {
    calls,
    failedAsserts,
    of: (method) => calls.filter((c) => c.method === method).map((c) => c.args),
    log: record("log"),
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
    debug: record("debug"),
    assert: (condition: unknown, ...args: unknown[]) => {
      if (!condition) failedAsserts.push(args);
    },
  };
}

export interface Run {
  /** The example's exports. */
  exports: Record<string, any>;
  /** Its top-level bindings (`const app = …`), as they were when it finished. */
  locals: Record<string, any>;
  console: RecordingConsole;
}

interface Slot {
  globals: Record<string, unknown>;
  console: RecordingConsole;
  locals?: Record<string, unknown>;
}

const shared = globalThis as { __docsRun?: Record<string, Slot> };
shared.__docsRun ??= {};
const slots = shared.__docsRun;
let counter = 0;

function bindingNames(name: ts.BindingName, out: string[]): void {
  if (ts.isIdentifier(name)) out.push(name.text);
  else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bindingNames(element.name, out);
}

const isDeclare = (node: ts.Node) =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.DeclareKeyword);

/**
 * The example as a module: imports rewritten, `declare` statements blanked (what they declare is supplied instead),
 * on its first line the given names it does not declare itself (so a fragment that imports or defines `kling` keeps
 * its own), and at its end its top-level bindings handed back. Line numbers stay those of the example.
 */
function prepare(example: Example, key: string, given: readonly string[]): string {
  const source = ts.createSourceFile("example.ts", example.code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const declared: string[] = [];
  const imported: string[] = [];
  const edits: Array<{ start: number; end: number; text: string }> = [];
  const from = relative(RUN_DIR, root);
  for (const statement of source.statements) {
    if (isDeclare(statement)) {
      const text = statement.getText(source);
      edits.push({ start: statement.getStart(source), end: statement.getEnd(), text: text.replace(/[^\n]/g, " ") });
      continue;
    }
    if (ts.isImportDeclaration(statement)) {
      const specifier = (statement.moduleSpecifier as ts.StringLiteral).text;
      const target = MODULES[specifier];
      if (target)
        edits.push({
          start: statement.moduleSpecifier.getStart(source),
          end: statement.moduleSpecifier.getEnd(),
          text: JSON.stringify(`${from}/${target}`),
        });
      const clause = statement.importClause;
      if (clause?.name) imported.push(clause.name.text);
      if (clause?.namedBindings && ts.isNamespaceImport(clause.namedBindings))
        imported.push(clause.namedBindings.name.text);
      if (clause?.namedBindings && ts.isNamedImports(clause.namedBindings))
        for (const e of clause.namedBindings.elements) imported.push(e.name.text);
    } else if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) bindingNames(d.name, declared);
    } else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) {
      declared.push(statement.name.text);
    }
  }
  let code = example.code;
  for (const edit of edits.sort((a, b) => b.start - a.start))
    code = code.slice(0, edit.start) + edit.text + code.slice(edit.end);
  const own = new Set([...declared, ...imported]);
  const supplied = given.filter((name) => !own.has(name));
  const slot = `globalThis.__docsRun[${JSON.stringify(key)}]`;
  const head = `const { ${supplied.join(", ")} } = ${slot}.globals; const console = ${slot}.console; `;
  const tail = `\n;${slot}.locals = { ${declared.join(", ")} };\nexport {};\n`;
  return head + code + tail;
}

/** How long an example may take before the run counts as hung. */
const RUN_BOUND_MS = 10_000;

/**
 * Runs the example once with `globals` as the names it takes as given; rejects with what it threw (or when it has not
 * finished within {@link RUN_BOUND_MS}), naming the example.
 */
export async function runExample(example: Example, globals: Record<string, unknown> = {}, code?: string): Promise<Run> {
  const key = `${example.id} #${++counter}`;
  const console = recordingConsole();
  slots[key] = { globals, console };
  mkdirSync(RUN_DIR, { recursive: true });
  const file = join(RUN_DIR, `example-${process.pid}-${counter}.ts`);
  writeFileSync(file, code ?? prepare(example, key, Object.keys(globals)));
  let timer: NodeJS.Timeout | undefined;
  try {
    const exports = await Promise.race([
      import(/* @vite-ignore */ pathToFileURL(file).href) as Promise<Record<string, any>>,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(`${example.id} (${example.file}:${example.line}) did not finish within ${RUN_BOUND_MS} ms`),
            ),
          RUN_BOUND_MS,
        );
      }),
    ]);
    return { exports, locals: slots[key]!.locals ?? {}, console };
  } catch (error) {
    if (error instanceof Error) error.message = `${example.id} (${example.file}:${example.line}): ${error.message}`;
    throw error;
  } finally {
    clearTimeout(timer);
    rmSync(file, { force: true });
    delete slots[key];
  }
}

/** The same example with its code changed (a deliberately broken copy, to prove a check can fail). */
export function withCode(example: Example, change: (code: string) => string): Example {
  const code = change(example.code);
  if (code === example.code) throw new Error(`the change to ${example.id} changed nothing`);
  return { ...example, code };
}
