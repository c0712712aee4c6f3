// The spec's side of the mock with no server: requests judged by the validators generated from the spec, answered with
// the spec's named examples, the way Prism judges and answers them (so the engine needs Prism on neither side of MSW).
import { validateCreateTaskBody } from "../generated/create-validator.js";
import { validateListTasksQuery } from "../generated/list-query-validator.js";
import { MOCK_OPERATIONS, type MockOperation } from "../generated/mock-spec.js";
import { type Answer, jsonAnswer, parseAny } from "./answer.js";
import { type Violation, violationsFromErrors } from "./errors.js";
import { preferences } from "./prefer.js";

/** A request as the spec's side sees it: the path within the API, and the raw body. */
export interface SpecRequest {
  method: string;
  /** The path under the API's base, e.g. `/v1/audio/video-to-audio/123`. */
  path: string;
  /** The request-target under the base as the client sent it (path and query), for a server that re-parses it. */
  target: string;
  query: URLSearchParams;
  headers: Headers;
  body: Uint8Array;
}

/** Judges a request against the spec and answers with the example `prefer` (else the caller's `Prefer`) names. */
export interface SpecSide {
  answer(request: SpecRequest, prefer?: string): Promise<Answer>;
}

export const CREATE_PATH = "/v1/audio/video-to-audio";
const TASK_PATH = /^\/v1\/audio\/video-to-audio\/[^/]+$/;

/** The operation a request calls, by method and path alone. */
export function operationOf(method: string, path: string): MockOperation | undefined {
  if (path === CREATE_PATH && method === "POST") return MOCK_OPERATIONS.createTask;
  if (path === CREATE_PATH && method === "GET") return MOCK_OPERATIONS.listTasks;
  if (TASK_PATH.test(path) && method === "GET") return MOCK_OPERATIONS.getTask;
  return undefined;
}

export function createSpecExamples(): SpecSide {
  return {
    async answer(request, prefer) {
      const operation = operationOf(request.method, request.path);
      if (!operation) return problem(404, "Route not resolved, no path matched or no method matched");
      const violations = judge(operation, request);
      if (violations.length > 0) {
        const [example] = Object.values(operation.responses["400"] ?? {});
        return jsonAnswer(400, example, { "sl-violations": JSON.stringify(violations) });
      }
      const wanted = preferences(prefer ?? request.headers.get("prefer"), request.query) ?? new Map<string, string>();
      const status = wanted.get("code") ?? Object.keys(operation.responses).find((code) => /^2\d\d$/.test(code)) ?? "";
      const examples = operation.responses[status];
      if (!examples) return problem(404, `Requested status code ${status} is not defined in the document.`);
      const name = wanted.get("example") ?? Object.keys(examples)[0] ?? "";
      if (!(name in examples)) return problem(404, `Response for exampleKey: ${name} does not exist.`);
      return jsonAnswer(Number(status), examples[name]);
    },
  };
}

/** Prism's findings for this request, in its `sl-violations` form. */
function judge(operation: MockOperation, request: SpecRequest): Violation[] {
  if (operation === MOCK_OPERATIONS.listTasks) {
    if (validateListTasksQuery(queryValues(request.query, operation.queryNames))) return [];
    return violationsFromErrors(validateListTasksQuery.errors ?? [], "query");
  }
  if (!operation.bodyRequired) return [];
  const type = request.headers.get("content-type");
  if (type !== null && type.split(";")[0]?.trim().toLowerCase() !== "application/json")
    return [{ location: ["request"], code: 415, message: "Supported content types: application/json" }];
  const body = request.body.length > 0 ? parseAny(request.body) : null;
  if (body === null || body === undefined)
    return [{ location: ["request"], code: "required", message: "Body parameter is required" }];
  if (validateCreateTaskBody(body)) return [];
  return violationsFromErrors(validateCreateTaskBody.errors ?? [], "body");
}

/**
 * The query as Prism hands it to the schema: names matched case-insensitively (the last spelling wins), a repeated
 * name as an array (which no integer parameter accepts), an empty value as no value.
 */
function queryValues(query: URLSearchParams, names: readonly string[]): Record<string, unknown> {
  const byKey = new Map<string, string[]>();
  for (const [key, value] of query) byKey.set(key, [...(byKey.get(key) ?? []), value]);
  const values: Record<string, unknown> = {};
  for (const [key, list] of byKey) {
    const name = names.find((known) => known.toLowerCase() === key.toLowerCase());
    if (name === undefined || list.every((value) => value === "")) continue;
    values[name] = list.length === 1 ? list[0] : list;
  }
  return values;
}

function problem(status: number, detail: string): Answer {
  const answer = jsonAnswer(status, { type: "NOT_FOUND", title: "Not found", status, detail });
  answer.headers["content-type"] = "application/problem+json";
  return answer;
}
