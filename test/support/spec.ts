// The spec as data for tests: the parsed document, and ajv (2020-12) validators addressed by JSON pointer.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { parse } from "yaml";

export const specPath = fileURLToPath(new URL("../../openapi/openapi.yaml", import.meta.url));
export const spec: any = parse(readFileSync(specPath, "utf8"));

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(spec, "openapi.json");

const cache = new Map<string, ValidateFunction>();

/** A validator for the schema at `pointer` (e.g. `#/components/schemas/Task`). */
export function validatorAt(pointer: string): ValidateFunction {
  let validate = cache.get(pointer);
  if (!validate) {
    validate = ajv.compile({ $ref: `openapi.json${pointer}` });
    cache.set(pointer, validate);
  }
  return validate;
}

export function escapePointer(segment: string): string {
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** Follows one local `$ref` (e.g. a shared response) and returns the object with its pointer. */
export function deref(node: any, pointer: string): { node: any; pointer: string } {
  if (node && typeof node.$ref === "string") {
    const target = node.$ref as string;
    const value = target
      .slice(2)
      .split("/")
      .reduce((at: any, seg: string) => at[seg.replaceAll("~1", "/").replaceAll("~0", "~")], spec);
    return { node: value, pointer: target };
  }
  return { node, pointer };
}

type Method = "get" | "post";

export interface SpecOperation {
  path: string;
  method: Method;
  operationId: string;
  pointer: string;
  operation: any;
}

export function operations(): SpecOperation[] {
  const out: SpecOperation[] = [];
  for (const [path, item] of Object.entries<any>(spec.paths)) {
    for (const method of ["get", "post"] as const) {
      if (!item[method]) continue;
      out.push({
        path,
        method,
        operationId: item[method].operationId,
        pointer: `#/paths/${escapePointer(path)}/${method}`,
        operation: item[method],
      });
    }
  }
  return out;
}

export interface NamedResponseExample {
  status: string;
  name: string;
  value: any;
  schemaPointer: string;
}

/** Every named example of every response of an operation, with the pointer of the schema it must match. */
export function responseExamples(op: SpecOperation): NamedResponseExample[] {
  const out: NamedResponseExample[] = [];
  for (const [status, raw] of Object.entries<any>(op.operation.responses)) {
    const { node, pointer } = deref(raw, `${op.pointer}/responses/${status}`);
    const media = node.content?.["application/json"];
    if (!media) continue;
    for (const [name, example] of Object.entries<any>(media.examples ?? {})) {
      out.push({ status, name, value: example.value, schemaPointer: `${pointer}/content/application~1json/schema` });
    }
  }
  return out;
}

/** The schema pointer for the JSON body of `status` on an operation. */
export function responseSchemaPointer(op: SpecOperation, status: number): string {
  const { pointer } = deref(op.operation.responses[String(status)], `${op.pointer}/responses/${status}`);
  return `${pointer}/content/application~1json/schema`;
}
