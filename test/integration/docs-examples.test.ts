// Every ```ts example in the README and docs/ type-checks against the SDK's real types (`ts signature` blocks excepted;
// `ts no-run` ones included).
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { allExamples, type Example, root } from "../support/docs.js";

/** Code blocks: `ts` and `ts no-run` (those are type-checked too; only `ts signature` is not code). */
const examples = allExamples().filter((example) => example.kind !== "signature");

/**
 * What a fragment may take as given (a client, an input, your own helpers), declared so the example needs no
 * boilerplate; a fragment that imports a name itself shadows it. Frameworks the SDK does not depend on are `any`.
 */
const PRELUDE = `
import type { CreateTaskInput as __Input, Task as __Task, VideoToAudioClient as __Client } from "kling-video-to-audio";
declare global {
  const kling: __Client;
  const input: __Input;
  const callback: __Task;
  function save(...args: unknown[]): void;
  function readInputs(): AsyncIterable<__Input>;
  function getSession(request: Request): Promise<{ userId: string } | undefined>;
  function queueForLater(taskId: string): void;
  function alertBilling(requestId: string | undefined): void;
  function markDone(task: __Task): Promise<void>;
}
export {};
`;
/** Frameworks the examples use and the SDK does not depend on: declared as `any`, ambient (this file is no module). */
const FRAMEWORKS = `
declare module "express" { const express: any; export default express; }
declare module "hono" { export class Hono<E = any> { [member: string]: any; } }
declare module "next/server" { export const NextResponse: any; }
declare module "msw-storybook-addon" { export const initialize: any; export const mswLoader: any; }
`;

function typeCheck(all: Example[]): Map<Example, string[]> {
  const virtual = new Map<string, string>();
  const byPath = new Map<string, Example>();
  virtual.set(join(root, ".docs-check/prelude.ts"), PRELUDE);
  virtual.set(join(root, ".docs-check/frameworks.d.ts"), FRAMEWORKS);
  all.forEach((example, n) => {
    const path = join(root, `.docs-check/example-${n}.ts`);
    // Each example is a module, so its names stay its own.
    virtual.set(path, `${example.code}\nexport {};\n`);
    byPath.set(path, example);
  });
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
    types: ["node"],
    strict: true,
    // Framework objects are declared \`any\` above, so their handlers' parameters would be implicit anys.
    noImplicitAny: false,
    noEmit: true,
    skipLibCheck: true,
    baseUrl: root,
    paths: {
      "kling-video-to-audio": ["src/index.ts"],
      "kling-video-to-audio/proxy": ["src/proxy/index.ts"],
      "kling-video-to-audio/mock": ["mocks/index.ts", "mocks/lifecycle.ts"],
      "kling-video-to-audio/msw": ["mocks/msw.ts"],
      "kling-video-to-audio/bullmq": ["src/bullmq/index.ts", "src/bullmq.ts"],
      "kling-video-to-audio/callbacks": ["src/callbacks.ts"],
      "kling-video-to-audio/preflight": ["src/preflight/index.ts"],
    },
  };
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  host.readFile = (name) => virtual.get(name) ?? read(name);
  const exists = host.fileExists.bind(host);
  host.fileExists = (name) => virtual.has(name) || exists(name);
  const getSource = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language) => {
    const text = virtual.get(name);
    return text !== undefined ? ts.createSourceFile(name, text, language) : getSource(name, language);
  };
  const program = ts.createProgram([...virtual.keys()], options, host);
  const problems = new Map<Example, string[]>();
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const example = diagnostic.file ? byPath.get(diagnostic.file.fileName) : undefined;
    if (!example || diagnostic.start === undefined) continue;
    const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start);
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
    problems.set(example, [...(problems.get(example) ?? []), `${example.file}:${example.line + line}: ${text}`]);
  }
  return problems;
}

describe("documentation examples", () => {
  it("there are examples to check", () => {
    expect(examples.length).toBeGreaterThan(5);
  });

  it("every TypeScript example compiles against the SDK (names, options and types as documented)", () => {
    const problems = typeCheck(examples);
    expect([...problems.values()].flat()).toEqual([]);
  }, 60_000);
});
