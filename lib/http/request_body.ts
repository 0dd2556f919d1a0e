import type { Context } from "hono";
import type { z } from "zod";
import { HttpError } from "./http_errors.ts";
import { parseJsonBounded } from "./json_limits.ts";
import { type BodyName, REQUEST_BODY_SCHEMAS } from "./openapi_components.ts";
import { documentedRoute } from "./openapi_route_table.ts";

/**
 * True for `application/json`, alone or with a UTF-8 `charset` (any case). Browsers send `text/plain`,
 * `multipart/form-data` and `application/x-www-form-urlencoded` cross-origin without a CORS preflight; JSON is never
 * one of those, so a JSON-only API cannot be driven by a page the CORS list refuses.
 */
export function isJsonContentType(value: string): boolean {
  const [essence, ...params] = value.split(";").map((part) => part.trim().toLowerCase());
  if (essence !== "application/json") return false;
  return params.every((param) => {
    const [name, raw = ""] = param.split("=", 2).map((part) => part.trim());
    return name !== "charset" || ["utf-8", "utf8"].includes(raw.replace(/^"(.*)"$/, "$1"));
  });
}

/**
 * 415 `unsupported_media_type` unless the body is JSON: a `Content-Type` must be `application/json`, and a request
 * without one must have an empty body (a bodiless `POST .../steps` or `.../cancel` is fine; it carries no input).
 */
export async function requireJsonBody(c: Context): Promise<void> {
  const type = c.req.header("Content-Type");
  const refuse = (why: string) => {
    throw new HttpError(415, "unsupported_media_type", `${why}; send JSON with Content-Type: application/json.`);
  };
  if (type !== undefined) {
    if (!isJsonContentType(type)) refuse(`Content-Type '${type.slice(0, 100)}' is not accepted`);
    return;
  }
  if (c.req.raw.body && (await c.req.arrayBuffer()).byteLength > 0) refuse("A request body needs a Content-Type");
}

/**
 * Reads and validates the JSON body of the route being served, with the schema object the route table documents for
 * it (./openapi_route_table.ts, `body` and `bodyOptional`): what `/openapi.json` shows is what is enforced. `name`
 * is the body the handler expects (it types the result); a route whose documented body is another one, or none, is
 * a bug, refused with a 500 before the body is read. Malformed or too deeply nested JSON and schema mismatches are
 * 400s naming the problem. The media type was checked by the app's middleware (`requireJsonBody` on every `/v1`
 * POST).
 */
export async function readJson<N extends BodyName>(
  c: Context,
  name: N,
): Promise<z.output<(typeof REQUEST_BODY_SCHEMAS)[N]>> {
  const route = documentedRoute(c.req.method, c.req.routePath);
  if (route?.body !== name) {
    throw new Error(
      `${c.req.method} ${c.req.routePath} reads a ${name} body, but the route table documents ${
        route?.body ?? "none"
      }.`,
    );
  }
  // The schema for `name`; TypeScript cannot narrow an indexed union to `N`.
  const schema = REQUEST_BODY_SCHEMAS[name] as unknown as z.ZodType<z.output<(typeof REQUEST_BODY_SCHEMAS)[N]>>;
  const text = await c.req.text();
  let body: unknown = {};
  if (text.trim() === "") {
    if (!route.bodyOptional) throw new HttpError(400, "invalid_json", "The request body must be a JSON object.");
  } else {
    body = parseJsonBounded(text);
  }
  const result = schema.safeParse(body);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.map(String).join(".");
      return path ? `'${path}': ${issue.message}` : issue.message;
    });
    throw new HttpError(400, "invalid_request", `Invalid request body: ${problems.join("; ")}`);
  }
  return result.data;
}

/** The request's `Idempotency-Key`: undefined without one; 400 `invalid_idempotency_key` unless 1 to 200 characters. */
export function idempotencyKeyOf(c: Context): string | undefined {
  const key = c.req.header("Idempotency-Key");
  if (key !== undefined && (key.length === 0 || key.length > 200)) {
    throw new HttpError(400, "invalid_idempotency_key", "Idempotency-Key must be 1 to 200 characters.");
  }
  return key;
}
