// The server mock's callback POST with node:http(s), not fetch, whose "bad ports" list would refuse e.g. :6000.
import http from "node:http";
import https from "node:https";

/**
 * One POST, resolving the status. The answer's body is discarded as it arrives: only the status counts, and a huge or
 * endless body must not hold us, so the whole exchange (not each socket event) is bounded by `timeoutMs`.
 */
export function nodePost(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const client = target.protocol === "https:" ? https : http;
    const payload = Buffer.from(body);
    const request = client.request(
      target,
      { method: "POST", headers: { ...headers, "content-length": payload.length }, agent: false },
      (response) => {
        resolve(response.statusCode ?? 0);
        response.resume();
        response.on("error", () => {});
      },
    );
    const timer = setTimeout(
      () => request.destroy(Object.assign(new Error("timeout"), { name: "TimeoutError" })),
      timeoutMs,
    );
    const onAbort = () => request.destroy(Object.assign(new Error("aborted"), { name: "AbortError" }));
    signal.addEventListener("abort", onAbort, { once: true });
    request.on("close", () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    });
    request.on("error", reject);
    request.end(payload);
  });
}
