import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { SmolstepError } from "../errors.ts";

/**
 * An error with an HTTP status and a stable machine-readable code (and response headers, e.g. `Retry-After`).
 * `retryable` defaults to true when the response says when to retry (`Retry-After`).
 */
export class HttpError extends SmolstepError {
  override name = "HttpError";
  constructor(
    readonly status: ContentfulStatusCode,
    code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, { code, retryable: options.retryable ?? "Retry-After" in headers, cause: options.cause });
  }
}

/**
 * The HTTP status of each `SmolstepError` code the server answers with: the one table. An error whose code is not
 * here is a 500 `internal_error` whose message is not shown (it may carry internals).
 */
export const ERROR_STATUS: Readonly<Record<string, ContentfulStatusCode>> = {
  // Runs (RunError)
  run_not_found: 404,
  run_finished: 409,
  step_in_progress: 409,
  step_lost: 409,
  not_awaiting_input: 409,
  task_too_large: 413,
  state_too_large: 507,
  store_full: 507,
  follow_limit_reached: 504, // the request stopped following the run at its read limit; the run goes on
  // State tokens (StateTokenError)
  invalid_token: 400,
  token_expired: 410,
  token_agent_mismatch: 400,
  token_replayed: 409,
  // Steps and states
  invalid_state: 400, // StateVersionError
  // StepRefusedError: a state its agent cannot step (another agent's, or one waiting on a managed agent the agent
  // does not have). Its other codes are the runs' own: run_finished, not_awaiting_input.
  step_refused: 409,
  invalid_input: 400, // InvalidInputError
  not_configured: 503, // ConfigurationError
  model_error: 502, // AgentGenerationError, ModelError: the model (upstream) failed
  step_timeout: 504, // StepTimeoutError: the model (upstream) did not answer in time
  shutting_down: 503, // ShuttingDownError: the server stopped and abandoned the step
  // Outside input
  url_not_allowed: 400, // EgressError
  invalid_json: 400, // JsonLimitError
  json_too_deep: 400,
  json_too_large: 400,
  // Webhook deliveries (WebhookVerificationError): 400 for malformed headers, 401 for a bad or stale signature
  missing_delivery_id: 400,
  missing_timestamp: 400,
  invalid_signature_header: 400,
  missing_signature: 401,
  invalid_signature: 401,
  stale_timestamp: 401,
};

/** Codes whose failure left the run (or token) exactly as it was: the message says so. */
const RUN_UNCHANGED = new Set(["model_error", "step_timeout", "shutting_down"]);

/** nginx's "client closed request": only logs see it, the caller is gone. */
const CLIENT_CLOSED_REQUEST = 499 as ContentfulStatusCode;

const EXCEPTION_CODES: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  413: "payload_too_large",
};

/**
 * Maps any error to `{status, code, message, retryable}` by its `code` ({@link ERROR_STATUS}) and `retryable`;
 * unknown errors become a 500 without internals.
 */
export function classifyError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof SmolstepError) {
    const status = ERROR_STATUS[error.code];
    if (status !== undefined) {
      let message = error.message;
      if (RUN_UNCHANGED.has(error.code)) {
        message += error.retryable ? " The run was not changed; the step can be retried." : " The run was not changed.";
      }
      return new HttpError(status, error.code, message, {}, { retryable: error.retryable, cause: error });
    }
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

/**
 * Hono `onError` handler: every error leaves as JSON `{error: {code, message, retryable}}`. The request's log line
 * (lib/http/request_log.ts) records its code and class name.
 */
export function errorHandler(error: Error, c: Context): Response {
  const http = classifyError(error);
  const body = { error: { code: http.code, message: http.message, retryable: http.retryable } };
  const response = c.json(body, http.status, http.headers);
  if (error instanceof HTTPException) {
    const challenge = error.getResponse().headers.get("WWW-Authenticate");
    if (challenge) response.headers.set("WWW-Authenticate", challenge);
  }
  return response;
}
