// What each Kling code (or bare HTTP status) means and what to do next, for error messages.
import { CODES } from "../../generated/facts.js";

/** What a code means and what to do next: the spec's words (x-kling-codes), else the HTTP status's. */
export function guidanceFor(code: number | undefined, status: number): readonly [happened: string, next: string] {
  const fact = code === undefined ? undefined : CODES[code];
  return fact ? [fact.happened, fact.next] : byStatus(status);
}

function byStatus(status: number): readonly [string, string] {
  if (status === 401) return ["authentication failed", "check the API key (or the access and secret keys)"];
  if (status === 403) return ["access was denied", "check the key's permissions"];
  if (status === 404) return ["the path or resource was not found", "check the base URL and the id"];
  if (status === 429) return ["the server is rate limiting", "slow down, then retry"];
  if (status >= 500) return ["the server failed", "retry later"];
  if (status >= 400) return ["the request was rejected", "fix the request"];
  return ["the server reported an error", "check the message"];
}
