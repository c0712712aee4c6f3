// Batch and enqueue input files: text lists only (UTF-8, or UTF-16 with a BOM), read line by line as create bodies.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { KlingValidationError } from "../errors.js";
import type { CreateTaskInput } from "../types.js";

/** One input of a batch file, with the 0-based line it is on (its `index` in the results, the same on every run). */
export interface FileInput {
  line: number;
  input: CreateTaskInput;
}

const WHAT_A_FILE_HOLDS = "a list of videos, one a line (.jsonl: one create body a line; else one video URL a line)";

/**
 * Reads the whole file once, checking every line, and returns how many inputs it holds: a file that is not a text
 * list (a directory, a video, any binary) or holds a broken JSON line is refused here, before anything is written.
 */
export async function checkInputFile(path: string): Promise<number> {
  let count = 0;
  for await (const _ of readInputs(path)) count++;
  return count;
}

/**
 * Inputs from a file, read lazily. A line that starts with `{` is a create body (JSON) in any file, every line of a
 * `.jsonl` file is one, and any other line is a video URL; blank lines and `#` comments are skipped.
 */
export async function* readInputs(path: string): AsyncGenerator<FileInput> {
  const jsonl = /\.jsonl$/i.test(path);
  let line = -1;
  for await (const raw of textLines(path)) {
    line++;
    const text = raw.trim();
    if (text === "" || text.startsWith("#")) continue;
    if (!jsonl && !text.startsWith("{")) {
      yield { line, input: { video_url: text } };
      continue;
    }
    try {
      yield { line, input: JSON.parse(text) as CreateTaskInput };
    } catch {
      throw new KlingValidationError(
        `line ${line + 1}`,
        `${path}:${line + 1} is not valid JSON: ` +
          `${jsonl ? "each line of a .jsonl file" : "a line that starts with {"} is one create body.`,
      );
    }
  }
}

/** The file's lines, decoded strictly: a byte that is not text refuses the whole file. */
async function* textLines(path: string): AsyncGenerator<string> {
  await mustBeFile(path);
  let decoder: TextDecoder | undefined;
  let offset = 0;
  let rest = "";
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    decoder ??= decoderFor(chunk);
    const text = decode(decoder, chunk, path, offset, true);
    offset += chunk.length;
    // A "\r" at the end of a chunk may be the first half of "\r\n": it waits for the next chunk.
    const combined = rest + text;
    const held = combined.endsWith("\r") ? "\r" : "";
    const lines = combined.slice(0, combined.length - held.length).split(/\r\n|\n|\r/);
    rest = (lines.pop() ?? "") + held;
    yield* lines;
  }
  if (decoder) rest += decode(decoder, undefined, path, offset, false);
  if (rest !== "") yield* rest.split(/\r\n|\n|\r/).filter((line, i, all) => i < all.length - 1 || line !== "");
}

async function mustBeFile(path: string): Promise<void> {
  const stats = await stat(path).catch(() => undefined);
  if (!stats) throw new KlingValidationError("FILE", `no such file: ${path}`);
  if (!stats.isFile()) {
    const kind = stats.isDirectory() ? "a directory" : "not a regular file";
    throw new KlingValidationError("FILE", `${path} is ${kind}: give ${WHAT_A_FILE_HOLDS}.`);
  }
}

/** UTF-16 is read only with its byte order mark; everything else must be UTF-8 (a BOM there is skipped). */
function decoderFor(first: Buffer): TextDecoder {
  if (first[0] === 0xff && first[1] === 0xfe) return new TextDecoder("utf-16le", { fatal: true });
  if (first[0] === 0xfe && first[1] === 0xff) return new TextDecoder("utf-16be", { fatal: true });
  return new TextDecoder("utf-8", { fatal: true });
}

/** Control characters no text list holds (tab, line breaks and form feeds are fine): a NUL is the sign of a binary. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this pattern's purpose
const NOT_TEXT = /[\u0000-\u0008\u000e-\u001f]/;

function decode(decoder: TextDecoder, chunk: Buffer | undefined, path: string, offset: number, more: boolean): string {
  let text: string;
  try {
    text = decoder.decode(chunk, { stream: more });
  } catch {
    throw notText(path, `it is not valid ${decoder.encoding.toUpperCase()} (near byte ${offset})`);
  }
  const control = NOT_TEXT.exec(text);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).padStart(2, "0");
    throw notText(path, `it holds the control character 0x${code}`);
  }
  return text;
}

function notText(path: string, why: string): KlingValidationError {
  return new KlingValidationError(
    "FILE",
    `${path} is not a text file (${why}): give ${WHAT_A_FILE_HOLDS}, not a video or other binary file. ` +
      "Text is read as UTF-8, or as UTF-16 when the file starts with a byte order mark.",
  );
}
