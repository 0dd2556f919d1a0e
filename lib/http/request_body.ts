import type { Context } from "hono";
import type { z } from "zod";
import { HttpError } from "./http_errors.ts";
import { parseJsonBounded } from "./json_limits.ts";

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
 * Reads and validates a JSON body; malformed or too deeply nested JSON and schema mismatches are 400s naming the
 * problem. The media type was checked by the app's middleware (`requireJsonBody` on every `/v1` POST).
 */
export async function readJson<T>(c: Context, schema: z.ZodType<T>, options: { optional?: boolean } = {}): Promise<T> {
  const text = await c.req.text();
  let body: unknown = {};
  if (text.trim() === "") {
    if (!options.optional) throw new HttpError(400, "invalid_json", "The request body must be a JSON object.");
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
