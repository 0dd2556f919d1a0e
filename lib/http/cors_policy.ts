import type { cors } from "hono/cors";

export type CorsOptions = NonNullable<Parameters<typeof cors>[0]>;

/** Request headers the typed client (`lib/client.ts`) and MCP clients (`/mcp`) send. */
const CLIENT_REQUEST_HEADERS = [
  "Authorization",
  "Content-Type",
  "Idempotency-Key",
  "Last-Event-ID",
  "Mcp-Protocol-Version",
];
/**
 * Response headers a cross-origin caller must be able to read: the typed client reads `Idempotent-Replayed`, a
 * chat frontend the run behind a completion (`X-Smolstep-Run-Id`), OpenAI's clients `x-should-retry`, anyone the
 * request's id for the logs (`X-Request-Id`).
 */
const CLIENT_RESPONSE_HEADERS = [
  "Idempotent-Replayed",
  "Location",
  "Retry-After",
  "WWW-Authenticate",
  "X-Request-Id",
  "X-Smolstep-Run-Id",
  "x-should-retry",
];
/** How long a browser may reuse a preflight (seconds); Chromium caps it at 7200, Firefox at 86400. */
export const DEFAULT_CORS_MAX_AGE = 7200;

const union = (a: string[], b: string[] = []) => {
  const seen = new Set(a.map((name) => name.toLowerCase()));
  return [...a, ...b.filter((name) => !seen.has(name.toLowerCase()) && seen.add(name.toLowerCase()))];
};

/**
 * The deployer's CORS options over smolstep's defaults: the client's request and response headers are always allowed
 * and exposed (the deployer's lists add to them), preflights are cached for `maxAge` seconds, and only the methods
 * the API has are allowed. `true` means any origin.
 */
export function corsPolicy(options: true | CorsOptions): CorsOptions {
  const given: CorsOptions = options === true ? {} : options;
  return {
    ...given,
    origin: given.origin ?? "*",
    allowMethods: given.allowMethods ?? ["GET", "HEAD", "POST", "DELETE"],
    allowHeaders: union(CLIENT_REQUEST_HEADERS, given.allowHeaders),
    exposeHeaders: union(CLIENT_RESPONSE_HEADERS, given.exposeHeaders),
    maxAge: given.maxAge ?? DEFAULT_CORS_MAX_AGE,
  };
}
