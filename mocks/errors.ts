// Words request violations (Prism's `sl-violations`, or the generated validators' errors) as one Kling 1201 message.
//
// Prism, or the validators compiled from the spec into generated/, judge the request (so the spec stays the only source
// of the rules); this module only words their findings. Ajv reports every branch of the create body's `oneOf`, so the
// branch the caller meant (the one whose video field is present) is kept and the other branch's complaints dropped.

export interface Violation {
  location?: unknown[];
  code?: unknown;
  message?: unknown;
}

/** What the wording needs to know about the operation, generated from the spec (generated/mock-spec.ts). */
export interface OperationFacts {
  /** Every property the request body schema names (for "did you mean"). */
  bodyFields: readonly string[];
  /** Fields that each pick one `oneOf` branch (`video_id`, `video_url`): exactly one must be given. */
  branchFields: readonly string[];
  /** Query parameter names as the spec spells them (Prism lower-cases them in violations). */
  queryNames: readonly string[];
}

export const INVALID_PARAMETER = 1201;

/** The violations in a `sl-violations` header, or an empty list when it is absent or not JSON. */
/** ajv's error object, as the generated validators report it. */
export interface SchemaError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/**
 * The generated validators' errors as Prism reports the same findings (its `convertAjvErrors`): location
 * `["request", section, ...path]`, code the ajv keyword, message `Request <section> property|parameter <path> <rule>`.
 */
export function violationsFromErrors(errors: readonly SchemaError[], section: "body" | "query"): Violation[] {
  return errors.map((error) => {
    const path = error.instancePath.split("/").filter((segment) => segment !== "");
    const kind = path.length === 0 ? "" : section === "body" ? "property " : "parameter ";
    const source = `Request ${section} ${kind}${path.join(".")}${path.length > 0 ? " " : ""}`;
    const params = error.params;
    const allowed = Array.isArray(params.allowedValues) ? `: ${params.allowedValues.join(", ")}` : "";
    const additional = "additionalProperty" in params ? `; found '${String(params.additionalProperty)}'` : "";
    const unevaluated = "unevaluatedProperty" in params ? `: '${String(params.unevaluatedProperty)}'` : "";
    return {
      location: ["request", section, ...path],
      code: error.keyword,
      message: `${source}${error.message ?? ""}${allowed}${additional}${unevaluated}`,
    };
  });
}

export function parseViolations(header: string | string[] | undefined): Violation[] {
  if (typeof header !== "string") return [];
  try {
    const list: unknown = JSON.parse(header);
    return Array.isArray(list) ? (list.filter((item) => typeof item === "object" && item !== null) as Violation[]) : [];
  } catch {
    return [];
  }
}

/**
 * The message for a 1201 answer: `Invalid parameter: <field> <rule>[; <field> <rule>...]`. `body` is the parsed JSON
 * body (undefined when none), used to show the offending value and to tell which `oneOf` branch was meant.
 */
export function describeViolations(
  violations: readonly Violation[],
  body: unknown,
  facts: OperationFacts,
  query?: URLSearchParams,
): string {
  const record = isRecord(body) ? body : undefined;
  const queryValues = queryRecord(query, facts);
  // "" and null mean "not given" (the spec's NotGiven; gateway samples send the unused video field as ""), as the SDK
  // reads them.
  const given = (field: string) =>
    record !== undefined && field in record && record[field] !== "" && record[field] !== null;
  const isBranch = (violation: Violation) => facts.branchFields.includes(fieldOf(violation, facts) ?? "");
  const branchesGiven = facts.branchFields.filter(given);
  const parts: string[] = [];
  if (record !== undefined && facts.branchFields.length > 1) {
    if (branchesGiven.length > 1)
      parts.push(`${branchesGiven.join(" and ")}: give exactly one of ${facts.branchFields.join(" or ")}, not both`);
    else if (branchesGiven.length === 0)
      parts.push(`${facts.branchFields.join(" or ")} is required (exactly one of them)`);
  }
  // Fields with a complaint of their own: their "or not given" alternative and any/oneOf summaries add nothing.
  const specific = new Set(
    violations.filter((v) => !isSummary(v) && !isNotGiven(v)).map((v) => fieldOf(v, facts) ?? ""),
  );
  for (const violation of violations) {
    const code = String(violation.code ?? "");
    const field = fieldOf(violation, facts) ?? "";
    // The oneOf summary, and each branch's objection to the other branch's video field, say nothing new.
    if (code === "oneOf" && field === "") continue;
    if (isBranch(violation) && (code === "false schema" || isNotGiven(violation))) continue;
    if (code === "required" && facts.branchFields.includes(requiredName(violation) ?? "")) continue;
    if ((isSummary(violation) || isNotGiven(violation)) && specific.has(field)) continue;
    // With no video given, a branch's complaint about an empty video field is the "required" above.
    if (branchesGiven.length === 0 && isBranch(violation) && record !== undefined && !given(field) && field in record)
      continue;
    parts.push(describeOne(violation, location(violation)[1] === "query" ? queryValues : record, facts));
  }
  const unique = [...new Set(parts.filter((part) => part !== ""))];
  return `Invalid parameter: ${unique.length > 0 ? unique.join("; ") : "the request does not match the API schema"}`;
}

function isSummary(violation: Violation): boolean {
  return violation.code === "anyOf" || violation.code === "oneOf";
}

/** The spec's NotGiven alternative (`enum: [""]`) failing: Ajv lists no allowed value but the empty string. */
function isNotGiven(violation: Violation): boolean {
  return (
    violation.code === "enum" && typeof violation.message === "string" && /allowed values: ?$/.test(violation.message)
  );
}

/** The message for a body that is not JSON at all. */
export function describeMalformedJson(error: unknown): string {
  const why = error instanceof Error ? error.message : String(error);
  const example = '{"video_url":"https://example.com/clip.mp4"}';
  const problem = `the request body is not valid JSON (${clip(why, 120)})`;
  return `Invalid parameter: ${problem}; send one JSON object such as ${example}`;
}

function describeOne(violation: Violation, body: Record<string, unknown> | undefined, facts: OperationFacts): string {
  const code = String(violation.code ?? "");
  const message = typeof violation.message === "string" ? violation.message : "";
  const field = fieldOf(violation, facts);
  const value = field !== undefined && body !== undefined && field in body ? body[field] : undefined;
  const got = value === undefined ? "" : `, got ${shown(value)}`;
  const where = location(violation);
  switch (code) {
    case "unevaluatedProperties":
    case "additionalProperties": {
      const name = /'([^']*)'/.exec(message)?.[1] ?? "?";
      const hint = closest(name, facts.bodyFields);
      const meant = hint ? ` (did you mean "${hint}"?)` : "";
      return `unknown field "${name}"${meant}; known fields: ${facts.bodyFields.join(", ")}`;
    }
    case "required":
      if (where[0] === "request" && where.length === 1) return "the request body is required: a JSON object";
      return `${requiredName(violation) ?? "a field"} is required`;
    case "maxLength":
    case "minLength": {
      const limit = Number(/(\d+) characters/.exec(message)?.[1]);
      const length = typeof value === "string" ? [...value].length : undefined;
      const counted = length === undefined ? got : `, got ${length}`;
      if (code === "minLength")
        return limit === 1 ? `${field} must not be empty` : `${field} must be at least ${limit} characters${counted}`;
      return `${field} must be at most ${limit} characters (Unicode code points)${counted}`;
    }
    case "pattern":
    case "format":
      if (/https\?|"uri"/.test(message)) return `${field} must be an absolute http(s) URL${got}`;
      return `${field} ${ruleText(message)}${got}`;
    case "type": {
      if (field === undefined) return "the request body must be a JSON object";
      const rule = ruleText(message).replace(/must be (\w+)$/, (_, type: string) => `must be ${article(type)}`);
      return `${field} ${rule}${got}`;
    }
    case "false schema":
      return `${field} is not allowed here`;
    case "415":
      return `Content-Type must be application/json (${message})`;
    default:
      return field === undefined ? ruleText(message) : `${field} ${ruleText(message)}${got}`;
  }
}

/** The query's values under the spec's parameter names (the first of repeated ones), to show what was sent. */
function queryRecord(query: URLSearchParams | undefined, facts: OperationFacts): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, value] of query ?? []) {
    const name = facts.queryNames.find((known) => known.toLowerCase() === key.toLowerCase()) ?? key;
    if (!(name in values)) values[name] = value;
  }
  return values;
}

function location(violation: Violation): string[] {
  return Array.isArray(violation.location) ? violation.location.map(String) : [];
}

/** The field a violation is about, spelled as the spec spells it: `bgm_prompt`, `pageSize`. */
function fieldOf(violation: Violation, facts: OperationFacts): string | undefined {
  const [, section, ...rest] = location(violation);
  if (rest.length === 0) return undefined;
  if (section === "query")
    return facts.queryNames.find((name) => name.toLowerCase() === rest[0]?.toLowerCase()) ?? rest[0];
  return rest.join(".");
}

function requiredName(violation: Violation): string | undefined {
  return typeof violation.message === "string" ? /required property '([^']*)'/.exec(violation.message)?.[1] : undefined;
}

/** Ajv's rule with Prism's "Request body property x" / "Request query parameter x" prefix removed. */
function ruleText(message: string): string {
  return message
    .replace(/^Request (body|query parameter|header|path parameter)( property)? [^ ]* ?/, "")
    .replace(/^Request body /, "the body ");
}

function article(type: string): string {
  return type === "integer" || type === "object" || type === "array" ? `an ${type}` : `a ${type}`;
}

function shown(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return clip(text, 60);
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The known field a typo most likely meant: at most two edits away, case ignored. */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const field of known) {
    const distance = editDistance(name.toLowerCase(), field.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [field, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 3;
}
