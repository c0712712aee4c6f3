// The ```ts examples of the README and docs/*.md, as the docs tests see them: where each is, what it is called, whether
// it runs.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../..", import.meta.url));

/**
 * One ```ts block. Its info string says what it is:
 * - ```ts — code: type-checked, and run by test/integration/docs-run.test.ts;
 * - ```ts signature — not code (a list of signatures): neither;
 * - ```ts no-run — <reason> — code that is type-checked but cannot run in a test, for the reason given.
 */
export interface Example {
  file: string;
  /** The line of the block's first code line (1-based). */
  line: number;
  code: string;
  /**
   * `<file> › <nearest heading above>`, with ` (2)`, ` (3)`… for a heading's later code blocks: stable while the text
   * around it changes.
   */
  id: string;
  kind: "code" | "signature" | "no-run";
  /** For `no-run`: the reason written after it (empty when none was given). */
  reason: string;
}

/** The ```ts blocks of a Markdown file (relative to the repository root). */
export function examplesOf(file: string, text = readFileSync(join(root, file), "utf8")): Example[] {
  const lines = text.split("\n");
  const out: Example[] = [];
  const perHeading = new Map<string, number>();
  let heading = "(top)";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const title = /^#{1,6}\s+(.*)$/.exec(line);
    if (title) heading = title[1]!.trim();
    const fence = /^```(\S*)\s*(.*)$/.exec(line.trim());
    if (!fence) continue;
    let end = i + 1;
    while (end < lines.length && lines[end]!.trim() !== "```") end++;
    if (fence[1] === "ts") {
      const info = fence[2]!.trim();
      const kind =
        info === "" ? "code" : info === "signature" ? "signature" : info.startsWith("no-run") ? "no-run" : undefined;
      if (!kind)
        throw new Error(
          `${file}:${i + 1}: unknown info string "ts ${info}" (use ts, ts signature or ts no-run — reason)`,
        );
      // Signatures are not counted, so adding one never renames the examples after it.
      const n = (perHeading.get(heading) ?? 0) + (kind === "signature" ? 0 : 1);
      perHeading.set(heading, n);
      const id = `${file} › ${heading}${n > 1 ? ` (${n})` : ""}`;
      const reason = kind === "no-run" ? info.replace(/^no-run\s*[—:-]*\s*/, "") : "";
      out.push({ file, line: i + 2, code: lines.slice(i + 1, end).join("\n"), id, kind, reason });
    }
    i = end; // a fence's content is never a heading
  }
  return out;
}

/** The Markdown files whose examples are checked: the README and every page of docs/. */
const DOC_FILES = [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`),
];

/** Every ```ts block of the checked files, signatures included (filter on `kind`). */
export function allExamples(): Example[] {
  return DOC_FILES.flatMap((file) => examplesOf(file));
}
