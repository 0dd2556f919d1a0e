import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { StepRefusedError } from "../agents/multi_step_agent.ts";
import { AgentGenerationError, ConfigurationError, InvalidInputError } from "../errors.ts";
import { StateVersionError } from "../memory/agent_state.ts";
import { RunError } from "../runs/run_record.ts";
import { StateTokenError } from "../runs/state_token.ts";
import { StepTimeoutError } from "../runs/step_deadline.ts";

/** An error with an HTTP status and a stable machine-readable code (and response headers, e.g. `Retry-After`). */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const RUN_ERROR_STATUS = {
  run_not_found: 404,
  run_finished: 409,
  step_in_progress: 409,
  step_lost: 409,
  not_awaiting_input: 409,
  task_too_large: 413,
  state_too_large: 507,
  store_full: 507,
} as const;

const TOKEN_ERROR_STATUS = {
  invalid_token: 400,
  token_expired: 410,
  token_agent_mismatch: 400,
  token_replayed: 409,
} as const;

/** nginx's "client closed request": only logs see it, the caller is gone. */
const CLIENT_CLOSED_REQUEST = 499 as ContentfulStatusCode;

const EXCEPTION_CODES: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  413: "payload_too_large",
};

/** Maps any error to `{status, code, message}`; unknown errors become a 500 without internals. */
export function classifyError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof RunError) return new HttpError(RUN_ERROR_STATUS[error.code], error.code, error.message);
  if (error instanceof StateTokenError) return new HttpError(TOKEN_ERROR_STATUS[error.code], error.code, error.message);
  if (error instanceof StateVersionError) return new HttpError(400, "invalid_state", error.message);
  if (error instanceof StepRefusedError) return new HttpError(409, "step_refused", error.message);
  if (error instanceof InvalidInputError) return new HttpError(400, "invalid_input", error.message);
  if (error instanceof ConfigurationError) return new HttpError(503, "not_configured", error.message);
  if (error instanceof AgentGenerationError) {
    return new HttpError(502, "model_error", `${error.message} The run was not changed; the step can be retried.`);
  }
  if (error instanceof StepTimeoutError) {
    // 504: the model (upstream) did not answer in time; retryable, nothing was kept.
    return new HttpError(504, "step_timeout", `${error.message} The run was not changed; the step can be retried.`);
  }
  if (error instanceof DOMException && error.name === "AbortError") {
    // The caller went away mid-step (a tool or the model call was abandoned); the run was not changed.
    return new HttpError(CLIENT_CLOSED_REQUEST, "request_aborted", "The request was aborted; the run was not changed.");
  }
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    return new HttpError(status, EXCEPTION_CODES[status] ?? "http_error", error.message || "Request rejected.");
  }
  return new HttpError(500, "internal_error", "Internal error while handling the request.");
}

/** Hono `onError` handler: every error leaves as JSON `{error: {code, message}}`. */
export function errorHandler(error: Error, c: Context): Response {
  const http = classifyError(error);
  if (http.status >= 500 && http.code === "internal_error") console.error("smolstep: unhandled error", error);
  const response = c.json({ error: { code: http.code, message: http.message } }, http.status, http.headers);
  if (error instanceof HTTPException) {
    const challenge = error.getResponse().headers.get("WWW-Authenticate");
    if (challenge) response.headers.set("WWW-Authenticate", challenge);
  }
  return response;
}
