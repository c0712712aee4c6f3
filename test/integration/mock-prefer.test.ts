// Every Prefer recipe that docs/mock.md documents, run on every operation its row names, against the lifecycle mock.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningMock } from "../../mocks/types.js";
import { CREATE_PATH, EXAMPLE_ID, loadMock, withMockMedia } from "../support/mock.js";
import { deref, spec, validatorAt } from "../support/spec.js";

const { startMock } = await loadMock();

type Operation = "createTask" | "getTask" | "listTasks";
const OPERATIONS: Record<Operation, { method: "get" | "post"; path: string }> = {
  createTask: { method: "post", path: CREATE_PATH },
  getTask: { method: "get", path: `${CREATE_PATH}/{task_id}` },
  listTasks: { method: "get", path: CREATE_PATH },
};
const SUBMITTED_MS = 1000;
const PROCESSING_MS = 1000;

/**
 * The documented recipes: each backticked `Prefer` value (or `?__…` query) of the table, with the operations of its
 * row.
 */
function documentedRecipes(): Array<{ recipe: string; operation: Operation }> {
  const doc = readFileSync(new URL("../../docs/mock.md", import.meta.url), "utf8");
  const section = doc.slice(doc.indexOf("## Choosing an answer with `Prefer`"), doc.indexOf("## From a browser"));
  const rows: Array<{ recipe: string; operation: Operation }> = [];
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((cell) => cell.trim());
    if (cells.length < 4 || !cells[1]?.startsWith("`") || cells[2] === "operations") continue;
    const recipes = [...(cells[1] ?? "").matchAll(/`([^`]+)`/g)].map((match) => match[1] ?? "");
    const operations = (cells[2] ?? "").split(",").map((name) => name.trim()) as Operation[];
    for (const operation of operations) {
      if (!(operation in OPERATIONS)) throw new Error(`docs/mock.md names an unknown operation "${operation}"`);
      for (const recipe of recipes) rows.push({ recipe, operation });
    }
  }
  return rows;
}

/** The spec's example `name` of the operation's response `code`, following a shared response's $ref. */
function specExample(operation: Operation, code: string, name: string | undefined): any {
  const { method, path } = OPERATIONS[operation];
  const response = deref(spec.paths[path][method].responses[code], "").node;
  const examples = response.content["application/json"].examples;
  const key = name ?? Object.keys(examples)[0] ?? "";
  if (!(key in examples)) throw new Error(`${operation} has no ${code} example "${key}"`);
  return examples[key].value;
}

function parseRecipe(recipe: string): {
  headers: Record<string, string>;
  query: string;
  code: string;
  example: string | undefined;
} {
  if (recipe.startsWith("?")) {
    const params = new URLSearchParams(recipe.slice(1));
    return {
      headers: {},
      query: recipe,
      code: params.get("__code") ?? "200",
      example: params.get("__example") ?? undefined,
    };
  }
  const params = Object.fromEntries(recipe.split(",").map((part) => part.trim().split("=") as [string, string]));
  return { headers: { Prefer: recipe }, query: "", code: params.code ?? "200", example: params.example };
}

const validTask = validatorAt("#/components/schemas/TaskResponse");
const recipes = documentedRecipes();

describe("documented Prefer recipes", () => {
  let clock = 1_800_000_000_000;
  let mock: RunningMock;
  beforeAll(async () => {
    mock = await startMock({ now: () => clock, submittedMs: SUBMITTED_MS, processingMs: PROCESSING_MS });
  });
  afterAll(() => mock.close());

  it("the table documents the recipes of the README and the --help banner", () => {
    const names = recipes.map((r) => `${r.recipe} on ${r.operation}`);
    expect(names).toEqual(
      expect.arrayContaining([
        "example=failed on createTask",
        "example=failed on getTask",
        "code=429, example=1303_concurrency_limit on getTask",
        "example=page on listTasks",
      ]),
    );
    expect(recipes.length).toBeGreaterThan(60);
  });

  it.each(recipes.map((r) => [r.recipe, r.operation] as const))("%s on %s", async (recipe, operation) => {
    const { headers, query, code, example } = parseRecipe(recipe);
    const { method, path } = OPERATIONS[operation];
    const url = `${mock.url}${path.replace("{task_id}", EXAMPLE_ID)}${query}`;
    const init: RequestInit = {
      method: method.toUpperCase(),
      headers: { ...headers, "content-type": "application/json" },
    };
    if (method === "post")
      init.body = JSON.stringify({ video_url: "https://example.com/clip.mp4", external_task_id: `prefer-${recipe}` });
    const response = await fetch(url, init);
    const body = await response.json();
    expect(response.status).toBe(Number(code));

    if (operation === "createTask" && code === "200") {
      // A real task, remembered, that ends as the example says.
      expect(validTask(body)).toBe(true);
      const id = body.data.task_id;
      expect(id).not.toBe(EXAMPLE_ID);
      expect(body.data.task_status).toBe("submitted");
      expect("request_id" in body).toBe(example !== "gateway");
      expect("task_info" in body.data).toBe(example !== "gateway");
      clock += SUBMITTED_MS + PROCESSING_MS;
      const end = await (await fetch(`${mock.url}${CREATE_PATH}/${id}`)).json();
      expect(end.data.task_id).toBe(id);
      expect(end.data.task_status).toBe(example === "failed" ? "failed" : "succeed");
      if (example === "gateway") expect(end.request_id).toBeUndefined();
      if (end.data.task_status === "succeed")
        expect((await fetch(end.data.task_result.audios[0].url_mp3)).status).toBe(200);
      return;
    }
    // Anything else: the spec's named example, as it is (result files on the mock's own media).
    expect(body).toEqual(withMockMedia(specExample(operation, code, example), mock.url));
  });

  it(
    "on create, Prefer: example=failed feeds the README's polling loop a task that ends failed (not a " + "404)",
    async () => {
      const base = `${mock.url}${CREATE_PATH}`;
      const created = await (
        await fetch(base, {
          method: "POST",
          headers: { "Content-Type": "application/json", Prefer: "example=failed" },
          body: JSON.stringify({ video_url: "https://example.com/clip.mp4" }),
        })
      ).json();
      let task = created.data;
      const seen = [task.task_status];
      while (task.task_status === "submitted" || task.task_status === "processing") {
        clock += 600;
        const answer = await (await fetch(`${base}/${task.task_id}`)).json();
        if (answer.code !== 0) throw new Error(`${answer.code} ${answer.message}`);
        task = answer.data;
        seen.push(task.task_status);
      }
      expect([...new Set(seen)]).toEqual(["submitted", "processing", "failed"]);
      expect(task.task_status_msg).toMatch(/.+/);
    },
  );

  it("an error recipe on create remembers nothing, and Prism still refuses an invalid body first", async () => {
    const before = (await (await fetch(`${mock.url}${CREATE_PATH}?pageSize=500`)).json()).data.length;
    const limited = await fetch(`${mock.url}${CREATE_PATH}`, {
      method: "POST",
      headers: { "content-type": "application/json", Prefer: "code=429, example=1303_concurrency_limit" },
      body: JSON.stringify({ video_url: "https://example.com/a.mp4" }),
    });
    expect(limited.status).toBe(429);
    const invalid = await fetch(`${mock.url}${CREATE_PATH}`, {
      method: "POST",
      headers: { "content-type": "application/json", Prefer: "example=failed" },
      body: JSON.stringify({ video_url: "nope" }),
    });
    expect(invalid.status).toBe(400);
    expect((await invalid.json()).message).toMatch(/video_url must be an absolute http\(s\) URL/);
    expect((await (await fetch(`${mock.url}${CREATE_PATH}?pageSize=500`)).json()).data.length).toBe(before);
  });
});
