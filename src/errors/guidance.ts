// What each Kling code (or bare HTTP status) means and what to do next, for error messages.

/** What each documented code means and what the caller should do about it. */
export const CODES: Record<number, readonly [happened: string, next: string]> = {
  1000: ["authentication failed", "check the API key (or the access and secret keys)"],
  1001: ["the Authorization header was empty", "pass apiKey (or accessKey and secretKey), or set KLING_V2A_API_KEY"],
  1002: ["the Authorization header was invalid", "check the API key (or the access and secret keys) and the base URL"],
  1003: ["the token is not valid yet", "check the machine clock, then the access and secret keys"],
  1004: ["the token has expired", "check the machine clock, then the access and secret keys"],
  1100: ["the account is in an abnormal state", "check the account in the Kling console or contact support"],
  1101: ["the account is in arrears", "settle the account balance, then retry"],
  1102: ["the resource pack is used up or expired", "recharge or buy a resource pack, then retry"],
  1103: ["the key has no permission for this API or model", "enable this API/model for the account, or use another key"],
  1200: ["the request was invalid", "fix the request"],
  1201: ["a parameter was invalid", "fix the parameter named in the message"],
  1202: ["the method or path is not supported", "check the base URL and the path"],
  1203: ["the resource was not found", "check the task id and the base URL"],
  1300: ["the request breaks platform policy", "change the input"],
  1301: ["the content safety check rejected the input", "change the video or the prompts"],
  1302: ["requests are arriving too fast", "slow down; the SDK retries with backoff"],
  1303: ["too many tasks are running for the account's resource pack", "wait for some to finish"],
  1304: ["this IP address is not on the key's allow list", "add it in the Kling console"],
  5000: ["the server failed internally", "retry later"],
  5001: ["the service is unavailable (maintenance)", "retry later"],
  5002: ["the server timed out (backlog)", "retry later"],
};

export function byStatus(status: number): readonly [string, string] {
  if (status === 401) return ["authentication failed", "check the API key (or the access and secret keys)"];
  if (status === 403) return ["access was denied", "check the key's permissions"];
  if (status === 404) return ["the path or resource was not found", "check the base URL and the id"];
  if (status === 429) return ["the server is rate limiting", "slow down, then retry"];
  if (status >= 500) return ["the server failed", "retry later"];
  if (status >= 400) return ["the request was rejected", "fix the request"];
  return ["the server reported an error", "check the message"];
}
