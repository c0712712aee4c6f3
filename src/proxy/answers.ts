// The proxy's own answers: Kling-shaped error envelopes and JSON replies, never cached, never sniffed.

/** On every answer: per-user data must never sit in a shared cache, and reflected input must never be sniffed as HTML. */
export const SAFE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "application/json",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

/** A JSON answer with the safe headers plus `extra`. */
export function jsonAnswer(status: number, body: unknown, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...extra, ...SAFE_HEADERS } });
}

/** Kling's error envelope (`code`, `message`, `request_id`), so the SDK in the browser maps it like the real API's. */
export function errorEnvelope(code: number, message: string): { code: number; message: string; request_id: string } {
  return { code, message, request_id: globalThis.crypto.randomUUID() };
}

/** The one message for "no such task of yours": an unknown id and another owner's task get exactly this. */
export const TASK_NOT_FOUND = "Task not found.";

/** Shortens text quoted from a caller, so an error message never carries a flood. */
export function quoted(text: string, max = 100): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
