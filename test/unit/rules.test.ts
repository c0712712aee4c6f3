// Rules that each have one home, checked through the public client: the retry table whatever the body, raw POSTs.
import { describe, expect, it } from "vitest";
import { createClient, KlingConnectionError, KlingServerError } from "../../src/index.js";

const BASE = "https://api.example.test/kling";
const TASK = { task_id: "866889456698785798", task_status: "submitted" };

/** A client whose fetch answers every request with `answer()`, counting the requests. */
function clientAnswering(answer: () => Response | Promise<Response>) {
  const seen: string[] = [];
  const kling = createClient({
    apiKey: "sk-rules-0123456789",
    baseUrl: BASE,
    maxRetries: 2,
    fetch: async (request) => {
      seen.push(request.method);
      return answer();
    },
  });
  return { kling, seen };
}

describe("one retry rule for every body", () => {
  it("a 501 is not retried, with an HTML body as with a JSON one", async () => {
    const html = clientAnswering(
      () =>
        new Response("<html><title>Not Implemented</title></html>", {
          status: 501,
          headers: { "content-type": "text/html" },
        }),
    );
    await expect(html.kling.getTask(TASK.task_id)).rejects.toBeInstanceOf(KlingConnectionError);
    const json = clientAnswering(() => new Response(JSON.stringify({ message: "not implemented" }), { status: 501 }));
    await expect(json.kling.getTask(TASK.task_id)).rejects.toBeInstanceOf(KlingServerError);
    expect(html.seen).toHaveLength(1);
    expect(json.seen).toHaveLength(1);
  });

  it("a 503 is retried, with an HTML body as with a JSON one", async () => {
    const html = clientAnswering(
      () => new Response("<html>down</html>", { status: 503, headers: { "retry-after": "0" } }),
    );
    await expect(html.kling.getTask(TASK.task_id)).rejects.toBeInstanceOf(KlingConnectionError);
    const json = clientAnswering(
      () =>
        new Response(JSON.stringify({ code: 5001, message: "down" }), { status: 503, headers: { "retry-after": "0" } }),
    );
    await expect(json.kling.getTask(TASK.task_id)).rejects.toBeInstanceOf(KlingServerError);
    expect(html.seen).toHaveLength(3);
    expect(json.seen).toHaveLength(3);
  });
});
