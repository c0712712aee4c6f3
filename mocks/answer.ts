// The mock's answers as plain data (status, lower-case headers, bytes), which the node:http layer and MSW both send.

export interface Answer {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: Uint8Array;
}

export type Json = Record<string, unknown>;

const encoder = new TextEncoder();

export function jsonAnswer(status: number, body: unknown, headers: Record<string, string> = {}): Answer {
  return {
    status,
    headers: { ...headers, "content-type": "application/json" },
    body: encoder.encode(JSON.stringify(body)),
  };
}

/** A Kling-shaped error answer with a fresh request_id. */
export function klingError(status: number, code: number, message: string): Answer {
  return jsonAnswer(status, { code, message, request_id: randomUuid() });
}

export function textAnswer(status: number, text: string, headers: Record<string, string> = {}): Answer {
  return { status, headers: { ...headers, "content-type": "text/plain; charset=utf-8" }, body: encoder.encode(text) };
}

/** A v4 UUID from getRandomValues: `crypto.randomUUID` exists only in secure contexts (a page may be on plain http). */
export function randomUuid(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The body as JSON, or undefined when it is not JSON. */
export function parseAny(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    return undefined;
  }
}

export function parseJson(body: Uint8Array): Json | undefined {
  const parsed = parseAny(body);
  return isObject(parsed) ? parsed : undefined;
}

/** Why a body is not JSON (UTF-8 checked strictly), or undefined when it is. */
export function jsonProblem(body: Uint8Array): unknown {
  try {
    JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
    return undefined;
  } catch (error) {
    return error;
  }
}

/** A success envelope (`code` 0 in a 200 JSON answer), or undefined when the answer is anything else. */
export function successEnvelope(answer: Answer): Json | undefined {
  if (answer.status !== 200 || !(answer.headers["content-type"] ?? "").includes("json")) return undefined;
  const parsed = parseJson(answer.body);
  return parsed?.code === 0 ? parsed : undefined;
}
