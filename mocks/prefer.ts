// What the caller asked the spec for: the `Prefer` header, or Prism's query forms (`__code`, `__example`, `__dynamic`).

/** Prism's own ways to pick an answer from the query string; like a `Prefer` header, they mean "the caller decides". */
const PRISM_QUERY_KEYS = new Set(["__example", "__code", "__dynamic"]);
/** Create examples the lifecycle can honour by remembering a task (statuses name how it ends; gateway its envelope). */
const CREATE_CHOICES = new Set(["submitted", "processing", "succeed", "failed", "gateway"]);

export type Choice = { kind: "none" } | { kind: "create"; example: string } | { kind: "other" };

/** The caller's preferences (`code`, `example`, `dynamic`), or undefined when it expressed none. */
export function preferences(prefer: string | null, query: URLSearchParams): Map<string, string> | undefined {
  const fromQuery = [...query.keys()].some((key) => PRISM_QUERY_KEYS.has(key.toLowerCase()));
  if (prefer === null && !fromQuery) return undefined;
  const params = new Map<string, string>();
  for (const part of (prefer ?? "").split(/[,;]/)) {
    const [key, value] = part.split("=").map((item) => item.trim());
    if (key && value !== undefined) params.set(key.toLowerCase(), value.replace(/^"|"$/g, ""));
  }
  for (const [key, value] of query)
    if (PRISM_QUERY_KEYS.has(key.toLowerCase())) params.set(key.toLowerCase().slice(2), value);
  return params;
}

/**
 * What the caller chose. An example that names a task status (or `gateway`), with no other status code than 200, is a
 * choice the lifecycle can honour on create; any other preference gets the spec's static answer.
 */
export function callerChoice(prefer: string | null, query: URLSearchParams): Choice {
  const params = preferences(prefer, query);
  if (params === undefined) return { kind: "none" };
  const code = params.get("code");
  const example = params.get("example");
  const honoured = (code === undefined || code === "200") && example !== undefined && CREATE_CHOICES.has(example);
  return honoured && !params.has("dynamic") ? { kind: "create", example } : { kind: "other" };
}
