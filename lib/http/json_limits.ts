import { JsonLimitError, type JsonLimits, parseJsonWithin } from "../json_limits.ts";
import { HttpError } from "./http_errors.ts";

export { DEFAULT_JSON_LIMITS, type JsonLimits } from "../json_limits.ts";

/**
 * Parses JSON from a request (a body, a webhook payload) within `limits` (default: depth 64, 100,000 entries):
 * 400 `invalid_json`, `json_too_deep` or `json_too_large`, never a stack overflow later on.
 */
export function parseJsonBounded(text: string, limits: Partial<JsonLimits> = {}): unknown {
  try {
    return parseJsonWithin(text, limits);
  } catch (error) {
    if (error instanceof JsonLimitError) throw new HttpError(400, error.code, error.message);
    throw error;
  }
}
