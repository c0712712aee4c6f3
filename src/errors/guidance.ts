// What a bare HTTP status means and what to do next, for the message of an error that has no known Kling code.

/** The words for an HTTP status; a Kling code's own words come from generated/guidance.ts (see from-answer.ts). */
export function statusGuidance(status: number): readonly [happened: string, next: string] {
  if (status === 401) return ["authentication failed", "check the API key (or the access and secret keys)"];
  if (status === 403) return ["access was denied", "check the key's permissions"];
  if (status === 404) return ["the path or resource was not found", "check the base URL and the id"];
  if (status === 429) return ["the server is rate limiting", "slow down, then retry"];
  if (status >= 500) return ["the server failed", "retry later"];
  if (status >= 400) return ["the request was rejected", "fix the request"];
  return ["the server reported an error", "check the message"];
}
