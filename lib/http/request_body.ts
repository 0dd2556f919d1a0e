import type { Context } from "hono";
import type { z } from "zod";
import { HttpError } from "./http_errors.ts";

/** Reads and validates a JSON body; malformed JSON and schema mismatches are 400s naming the problem. */
export async function readJson<T>(c: Context, schema: z.ZodType<T>, options: { optional?: boolean } = {}): Promise<T> {
  const text = await c.req.text();
  let body: unknown = undefined;
  if (text.trim() === "") {
    if (!options.optional) throw new HttpError(400, "invalid_json", "The request body must be a JSON object.");
    body = {};
  } else {
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new HttpError(400, "invalid_json", `Malformed JSON body: ${(error as Error).message}`);
    }
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
