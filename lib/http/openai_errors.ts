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
  if (http.status >= 500 && http.code === "internal_error") console.error("smolstep: unhandled error", error);
  const param = error instanceof OpenAiParamError ? error.param : null;
  const body = {
    error: { message: http.message, type: openAiType(http.status), param, code: http.code, retryable: http.retryable },
  };
  return { status: http.status, body };
}

/** The app's error handler: OpenAI's shape on the OpenAI-compatible paths, smolstep's everywhere else. */
export function openAiAwareErrorHandler(error: Error, c: Context): Response {
  if (!isOpenAiPath(c.req.path)) return errorHandler(error, c);
  const { status, body } = openAiErrorBody(error);
  const response = c.json(body, status, classifyError(error).headers);
  if (error instanceof HTTPException) {
    const challenge = error.getResponse().headers.get("WWW-Authenticate");
    if (challenge) response.headers.set("WWW-Authenticate", challenge);
  }
  return response;
}
