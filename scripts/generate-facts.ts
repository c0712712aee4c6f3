// The facts src needs from the spec, as code: Kling's code table (x-kling-codes + where each code's example sits) and
// input limits.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

export const FACTS_PATH = "generated/facts.ts";
export const GUIDANCE_PATH = "generated/guidance.ts";
export const LIMITS_PATH = "generated/limits.ts";
export const VIDEO_LIMITS_PATH = "generated/video-limits.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const ENTRY_KEYS = new Set([
  "category",
  "retryable",
  "ambiguous",
  "renewToken",
  "concurrencyLimit",
  "happened",
  "next",
]);
const CATEGORIES = [
  "authentication",
  "account",
  "permission",
  "invalid_request",
  "policy",
  "rate_limit",
  "server",
] as const;

interface CodeEntry {
  category: (typeof CATEGORIES)[number];
  retryable: boolean;
  ambiguous: boolean;
  renewToken?: boolean;
  concurrencyLimit?: boolean;
  happened: string;
  next: string;
}

type Spec = {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: { name: string; schema?: Record<string, number> }[];
        responses?: Record<string, { $ref?: string }>;
      }
    >
  >;
  components: {
    responses: Record<
      string,
      { content?: Record<string, { examples?: Record<string, { value?: { code?: number } }> }> }
    >;
    schemas: Record<string, { properties?: Record<string, { maxLength?: number }>; allOf?: unknown[] }>;
  };
  "x-kling-codes": Record<string, CodeEntry>;
};

/** The HTTP status each code's example is answered with, from the responses the operations reference. */
function statusByCode(spec: Spec): Map<number, number> {
  const statusOf = new Map<string, number>();
  for (const operations of Object.values(spec.paths)) {
    for (const operation of Object.values(operations)) {
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const name = response.$ref?.split("/").pop();
        if (name && /^\d+$/.test(status)) statusOf.set(name, Number(status));
      }
    }
  }
  const found = new Map<number, number>();
  for (const [name, response] of Object.entries(spec.components.responses)) {
    const status = statusOf.get(name);
    for (const media of Object.values(response.content ?? {})) {
      for (const example of Object.values(media.examples ?? {})) {
        const code = example.value?.code;
        if (code === undefined || status === undefined) continue;
        const earlier = found.get(code);
        if (earlier !== undefined && earlier !== status)
          throw new Error(`code ${code} has examples under HTTP ${earlier} and ${status}`);
        found.set(code, status);
      }
    }
  }
  return found;
}

/** What Kling takes behind `video_url` (the preflight's limits), from the property's `x-kling-video`. */
interface VideoLimits {
  containers: string[];
  maxBytes: number;
  minDurationSec: number;
  maxDurationSec: number;
  gatewayShortSides: number[];
}

function videoLimits(spec: Spec): VideoLimits {
  const parts = (spec.components.schemas.CreateTaskWithVideoUrl?.allOf ?? []) as {
    properties?: Record<string, { "x-kling-video"?: VideoLimits }>;
  }[];
  const found = parts.map((part) => part.properties?.video_url?.["x-kling-video"]).find(Boolean);
  if (!found) throw new Error("CreateTaskWithVideoUrl's video_url has no x-kling-video");
  const positive = (n: unknown) => typeof n === "number" && Number.isFinite(n) && n > 0;
  const ok =
    Array.isArray(found.containers) &&
    found.containers.length > 0 &&
    found.containers.every((c) => typeof c === "string") &&
    Number.isInteger(found.maxBytes) &&
    positive(found.maxBytes) &&
    positive(found.minDurationSec) &&
    positive(found.maxDurationSec) &&
    found.minDurationSec < found.maxDurationSec &&
    Array.isArray(found.gatewayShortSides) &&
    found.gatewayShortSides.every((side) => Number.isInteger(side) && side > 0);
  if (!ok)
    throw new Error(
      "x-kling-video needs containers (texts), maxBytes (a whole number), minDurationSec < maxDurationSec and " +
        "gatewayShortSides (whole numbers)",
    );
  return found;
}

function listParameter(spec: Spec, name: string): Record<string, number> {
  const parameter = spec.paths["/v1/audio/video-to-audio"]?.get?.parameters?.find((p) => p.name === name);
  if (!parameter?.schema) throw new Error(`listTasks has no ${name} parameter with a schema`);
  return parameter.schema;
}

/**
 * The texts of generated/facts.ts (the codes' flags), generated/limits.ts (the input limits), generated/video-limits.ts
 * (what the preflight checks a video by) and generated/guidance.ts (the words of messages): four files, because each is
 * loaded by different code (limits up front, flags on failure, video limits by the preflight alone).
 */
export function generateFacts(specPath = `${root}openapi/openapi.yaml`): {
  facts: string;
  limits: string;
  videoLimits: string;
  guidance: string;
} {
  const spec = parse(readFileSync(specPath, "utf8")) as Spec;
  const statuses = statusByCode(spec);
  const table = spec["x-kling-codes"];
  const rows: string[] = [];
  const texts: string[] = [];
  for (const [key, entry] of Object.entries(table)) {
    const code = Number(key);
    const status = statuses.get(code);
    if (status === undefined) throw new Error(`x-kling-codes names ${code}, but no error example carries it`);
    if (!CATEGORIES.includes(entry.category)) throw new Error(`code ${code}: unknown category ${entry.category}`);
    // A stray key is usually a YAML flow-mapping comma that cut a sentence in two.
    const stray = Object.keys(entry).filter((k) => !ENTRY_KEYS.has(k));
    if (stray.length > 0)
      throw new Error(`code ${code}: unknown keys ${stray.join(", ")} (quote texts that hold a comma)`);
    if (typeof entry.happened !== "string" || typeof entry.next !== "string")
      throw new Error(`code ${code}: happened and next must be texts`);
    statuses.delete(code);
    const flags = [
      `status: ${status}`,
      `category: ${JSON.stringify(entry.category)}`,
      `retryable: ${entry.retryable}`,
      `ambiguous: ${entry.ambiguous}`,
    ];
    if (entry.renewToken) flags.push("renewToken: true");
    if (entry.concurrencyLimit) flags.push("concurrencyLimit: true");
    rows.push(`  ${code}: { ${flags.join(", ")} },`);
    texts.push(`  ${code}: [${JSON.stringify(entry.happened)}, ${JSON.stringify(entry.next)}],`);
  }
  if (statuses.size > 0)
    throw new Error(
      `error examples carry codes that x-kling-codes does not describe: ${[...statuses.keys()].join(", ")}`,
    );
  const common = spec.components.schemas.CreateTaskCommon?.properties ?? {};
  const promptMax = common.sound_effect_prompt?.maxLength;
  if (promptMax === undefined || common.bgm_prompt?.maxLength !== promptMax)
    throw new Error("the two prompts need the same maxLength");
  const pageNum = listParameter(spec, "pageNum");
  const pageSize = listParameter(spec, "pageSize");
  const header =
    "// Generated by scripts/generate-facts.ts from openapi/openapi.yaml (x-kling-codes, the error examples, the " +
    "schemas). Do not edit.";
  const guidance = `${header}
// The words of error messages, apart from the flags in facts.ts: only a failed call loads them.

/** What each code means and what to do next (x-kling-codes' \`happened\` and \`next\`). */
export const GUIDANCE: Readonly<Record<number, readonly [happened: string, next: string]>> = {
${texts.join("\n")}
};
`;
  return {
    facts: facts(header, rows),
    limits: limits(header, promptMax, pageNum, pageSize),
    videoLimits: videoLimitsText(header, videoLimits(spec)),
    guidance,
  };
}

function facts(header: string, rows: string[]): string {
  return `${header}
// The flags of Kling's codes: what the retry policy, safe create and the error classes decide by.

/** The error class family of a code. */
export type CodeCategory = ${CATEGORIES.map((c) => JSON.stringify(c)).join(" | ")};

export interface CodeFact {
  /** The HTTP status Kling answers the code with. */
  readonly status: number;
  readonly category: CodeCategory;
  /** Worth sending again with backoff. */
  readonly retryable: boolean;
  /** The request may have taken effect: a create is looked up before it is sent again. */
  readonly ambiguous: boolean;
  /** A JWT problem that a freshly signed token fixes. */
  readonly renewToken?: true;
  /** The account runs as many tasks as its resource pack allows. */
  readonly concurrencyLimit?: true;
}

/** Kling's business codes. */
export const CODES: Readonly<Record<number, CodeFact>> = {
${rows.join("\n")}
};
`;
}

function limits(
  header: string,
  promptMax: number,
  pageNum: Record<string, number>,
  pageSize: Record<string, number>,
): string {
  return `${header}
// The input limits that the checks before sending and the mock apply.

/** Input limits of the create body and the list query. */
export const LIMITS = {
  /** Longest \`sound_effect_prompt\`/\`bgm_prompt\`, in Unicode code points. */
  promptMaxLength: ${promptMax},
  pageNumMin: ${pageNum.minimum},
  pageNumMax: ${pageNum.maximum},
  pageNumDefault: ${pageNum.default},
  pageSizeMin: ${pageSize.minimum},
  pageSizeMax: ${pageSize.maximum},
  pageSizeDefault: ${pageSize.default},
} as const;
`;
}

function videoLimitsText(header: string, video: VideoLimits): string {
  return `${header}
// What Kling takes behind video_url: only the preflight (kling-video-to-audio/preflight) loads it.

/** What Kling takes behind \`video_url\` (its \`x-kling-video\`): what the preflight checks a video by. */
export const VIDEO_LIMITS = {
  /** The container formats Kling takes. */
  containers: [${video.containers.map((c) => JSON.stringify(c)).join(", ")}],
  /** The largest file, in bytes. */
  maxBytes: ${video.maxBytes},
  /** The shortest and longest video, in seconds, both inclusive. */
  minDurationSec: ${video.minDurationSec},
  maxDurationSec: ${video.maxDurationSec},
  /** The shorter sides (720p, 1080p) that gateways such as DeerAPI state; Kling itself does not. */
  gatewayShortSides: [${video.gatewayShortSides.join(", ")}],
} as const;
`;
}
