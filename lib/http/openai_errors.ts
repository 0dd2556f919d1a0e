/**
 * Errors of the OpenAI-compatible routes in OpenAI's shape, `{error: {message, type, param, code}}` (plus
 * `retryable`, as on every smolstep error), so OpenAI clients raise their usual errors: `code` is smolstep's code,
 * `type` OpenAI's class of error (`invalid_request_error`, `authentication_error`, ...).
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { classifyError, errorHandler, HttpError } from "./http_errors.ts";

/** The paths whose errors are in OpenAI's shape. */
export const isOpenAiPath = (path: string) => path === "/v1/chat/completions" || path.startsWith("/v1/models");

/** A 4xx naming the request field at fault (OpenAI's `param`). */
export class OpenAiParamError extends HttpError {
  override name = "OpenAiParamError";
  constructor(status: ContentfulStatusCode, code: string, message: string, readonly param: string | null) {
    super(status, code, message);
  }
}

function openAiType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  return status < 500 ? "invalid_request_error" : "server_error";
}

/** The body of an error in OpenAI's shape, for a JSON answer or a streamed `data:`. */
export function openAiErrorBody(error: unknown): { status: ContentfulStatusCode; body: Record<string, unknown> } {
  const http = classifyError(error);
  // An unhandled error is not printed: its message and stack may hold secrets (a provider's error quoting its key,
  // a callback's). The request's log line names its class and `internal_error`, as on every other route.
  const param = error instanceof OpenAiParamError ? error.param : null;
  const body = {
    error: { message: http.message, type: openAiType(http.status), param, code: http.code, retryable: http.retryable },
  };
  return { status: http.status, body };
}

/**
 * OpenAI's clients retry what `x-should-retry` says (else 408, 409, 429 and 5xx). Before a run exists a retry
 * repeats nothing, so it follows `retryable` (503 `overloaded` yes, 501 `store_not_configured` no); once a run
 * exists it is `false`, as a retry would start another run and pay for its steps again.
 */
export const SHOULD_RETRY_HEADER = "x-should-retry";

/** The response headers of an error in OpenAI's shape: the error's own (`Retry-After`), and `x-should-retry`. */
export function openAiErrorHeaders(error: unknown, runCreated: boolean): Record<string, string> {
  const http = classifyError(error);
  return { ...http.headers, [SHOULD_RETRY_HEADER]: String(!runCreated && http.retryable) };
}

/** The app's error handler: OpenAI's shape on the OpenAI-compatible paths, smolstep's everywhere else. */
export function openAiAwareErrorHandler(error: Error, c: Context): Response {
  if (!isOpenAiPath(c.req.path)) return errorHandler(error, c);
  const { status, body } = openAiErrorBody(error);
  // Thrown by the route before a run was created (after it, the route answers its errors itself).
  const response = c.json(body, status, openAiErrorHeaders(error, false));
  if (error instanceof HTTPException) {
    const challenge = error.getResponse().headers.get("WWW-Authenticate");
    if (challenge) response.headers.set("WWW-Authenticate", challenge);
  }
  return response;
}
