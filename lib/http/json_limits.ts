import { type JsonLimits, parseJsonWithin } from "../json_limits.ts";

export { DEFAULT_JSON_LIMITS, type JsonLimits } from "../json_limits.ts";

/**
 * Parses JSON from a request (a body, a webhook payload) within `limits` (default: depth 64, 100,000 entries):
 * a `JsonLimitError` (400 `invalid_json`, `json_too_deep` or `json_too_large`), never a stack overflow later on.
 */
export function parseJsonBounded(text: string, limits: Partial<JsonLimits> = {}): unknown {
  return parseJsonWithin(text, limits);
}
