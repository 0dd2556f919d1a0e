import { ERROR_STATUS } from "./http_errors.ts";
import { BODY_ERRORS, type RouteSpec } from "./openapi_route_spec.ts";
import { OPENAI_ROUTES } from "./openai_route_specs.ts";

/**
 * The routes the app serves, as the OpenAPI document (lib/http/openapi.ts) describes them (./openapi_route_spec.ts):
 * method, path, body and response schemas, error codes. A new route goes into `ROUTES`, or tests/http/openapi_test.ts fails. The routes
 * validate their bodies with the schema named here, and nothing else (`readJson` in ./request_body.ts looks it up).
 */

/**
 * Codes answered by the routes themselves (`HttpError`s and middleware) rather than through `ERROR_STATUS`, with
 * their status. A code in both must agree (the test checks).
 */
export const ROUTE_ERROR_STATUS: Readonly<Record<string, number>> = {
  invalid_request: 400,
  invalid_idempotency_key: 400,
  request_in_progress: 409,
  idempotency_key_reused: 422, // a chat completion's Idempotency-Key first used with another body
  unauthorized: 401,
  stateless_replay_unsafe: 403,
  direct_calls_disabled: 403,
  invalid_arguments: 400,
  tool_not_found: 404,
  tool_failed: 422,
  tool_timeout: 504,
  agent_not_found: 404,
  blob_not_found: 404,
  webhook_not_configured: 404,
  payload_too_large: 413,
  request_timeout: 408, // a request's body did not arrive in time (./body_deadline.ts)
  unsupported_media_type: 415,
  internal_error: 500,
  store_not_configured: 501,
  stateless_not_configured: 501,
  queue_not_configured: 501,
  overloaded: 503,
  delivery_in_progress: 409,
  // The OpenAI-compatible routes (./openai_routes.ts)
  model_not_found: 404,
  unsupported_parameter: 400,
  awaiting_input: 409,
  run_cancelled: 409,
  run_failed: 502,
};

const STEP_ERRORS = [
  "model_error",
  "step_timeout",
  "shutting_down",
  "overloaded",
  "not_configured",
  "step_refused",
  "invalid_state",
];
const STATELESS_ERRORS = [
  "agent_not_found",
  "stateless_not_configured",
  "stateless_replay_unsafe",
  "invalid_token",
  "token_expired",
  "token_agent_mismatch",
  "token_replayed",
  "state_too_large",
];
const KV_RUN_ERRORS = ["run_not_found", "store_not_configured"];

export const STREAMED =
  "With `Accept: text/event-stream` the answer is 200 `text/event-stream`: zero or more `event: delta` (data: a " +
  "DeltaEvent), then exactly one `event: step` whose data is exactly the JSON body of the non-streaming answer, or " +
  "one `event: error` with the Error body (the run unchanged). Errors found before the step starts are JSON errors.";

export const ROUTES: readonly RouteSpec[] = [
  {
    method: "get",
    path: "/",
    summary: "The playground page (public, self-contained; `playground: false` turns it off)",
    responses: { 200: { description: "The page", media: "text/html" } },
    errors: [],
    playgroundOnly: true,
  },
  {
    method: "get",
    path: "/playground.js",
    summary: "The playground's script",
    responses: { 200: { description: "The script", media: "text/javascript" } },
    errors: [],
    playgroundOnly: true,
  },
  {
    method: "get",
    path: "/playground.css",
    summary: "The playground's style sheet",
    responses: { 200: { description: "The style sheet", media: "text/css" } },
    errors: [],
    playgroundOnly: true,
  },
  {
    method: "get",
    path: "/tools/:name",
    summary: "A demo form for one tool, calling `POST /v1/tools/{name}` (public page; the key is typed into it)",
    responses: { 200: { description: "The page", media: "text/html" } },
    errors: [],
    playgroundOnly: true,
  },
  {
    method: "post",
    path: "/v1/tools/:name",
    summary: "Run one tool with validated arguments, under the agent's tool time limit (tools may opt out)",
    body: "ToolCallBody",
    responses: { 200: { description: "The tool's output", schema: "ToolCall" } },
    errors: [
      ...BODY_ERRORS,
      "invalid_arguments",
      "direct_calls_disabled",
      "tool_not_found",
      "agent_not_found",
      "tool_failed",
      "tool_timeout",
    ],
    auth: true,
  },
  {
    method: "get",
    path: "/openapi.json",
    summary: "This document (public; `openapi: false` turns it off)",
    responses: { 200: { description: "The OpenAPI 3.1 document", media: "application/json" } },
    errors: [],
  },
  {
    method: "get",
    path: "/docs",
    summary: "A page rendering this document (public, self-contained)",
    responses: { 200: { description: "The page", media: "text/html" } },
    errors: [],
  },
  {
    method: "get",
    path: "/health",
    summary: "Liveness and load (no store work, never authenticated)",
    responses: { 200: { description: "Healthy", schema: "Health" } },
    errors: [],
  },
  {
    method: "get",
    path: "/metrics",
    summary: "Prometheus metrics (text exposition format)",
    responses: { 200: { description: "Metrics", media: "text/plain" } },
    errors: ["unauthorized"],
    auth: true,
    metricsOnly: true,
  },
  {
    method: "get",
    path: "/v1/agents",
    summary: "The agents served, their tools, and the run modes this server offers",
    responses: { 200: { description: "Agents", schema: "Agents" } },
    errors: [],
    auth: true,
  },
  {
    method: "post",
    path: "/v1/agents/:name/runs",
    summary:
      "Start a run (KV by default; `stateless: true` returns a state token; `background: true` queues it; `firstStep: true` takes its first step)",
    body: "CreateRunBody",
    responses: {
      201: {
        description:
          "A KV run (`Location` names it), or a stateless run's first token; with `firstStep`, the run's first step (a KV step with `runId`, or a stateless step with the next token)",
        schema: "Run",
        headers: { Location: "The KV run's URL, `/v1/runs/{runId}`." },
      },
    },
    errors: [
      ...BODY_ERRORS,
      // With `firstStep`, what a step can answer.
      ...STEP_ERRORS,
      "url_not_allowed",
      "agent_not_found",
      "stateless_replay_unsafe",
      "task_too_large",
      "store_not_configured",
      "stateless_not_configured",
      "queue_not_configured",
      "state_too_large",
      "store_full",
    ],
    auth: true,
    // With `firstStep`: `Accept: text/event-stream` streams the first step.
    streamsStep: true,
  },
  {
    method: "post",
    path: "/v1/agents/:name/steps",
    summary: "One stateless step: send the state token, get the step and the next token",
    body: "StatelessStepBody",
    responses: { 200: { description: "The step taken", schema: "StatelessStep", streams: true } },
    errors: [...BODY_ERRORS, ...STEP_ERRORS, ...STATELESS_ERRORS, "run_finished", "not_awaiting_input"],
    auth: true,
    streamsStep: true,
  },
  {
    method: "post",
    path: "/v1/agents/:name/input",
    summary: "Answer a paused stateless run (approve or reject tool calls, or answer the question)",
    body: "StatelessInputBody",
    responses: { 200: { description: "The step finished with the input", schema: "StatelessStep", streams: true } },
    errors: [...BODY_ERRORS, ...STEP_ERRORS, ...STATELESS_ERRORS, "not_awaiting_input", "invalid_input"],
    auth: true,
    streamsStep: true,
  },
  {
    method: "post",
    path: "/v1/runs/:runId/steps",
    summary: "One step of a KV run (the body, when sent, is `{}`); a background run then goes on in the background",
    body: "StepBody",
    bodyOptional: true,
    parameters: [{
      name: "Idempotency-Key",
      in: "header",
      description: "1 to 200 characters: a retried request with the same key answers the same step " +
        "(`Idempotent-Replayed: true`) instead of taking another.",
    }],
    responses: {
      200: {
        description: "The step taken",
        schema: "KvStep",
        streams: true,
        headers: { "Idempotent-Replayed": "`true` when the answer is the step an earlier request with this key took." },
      },
    },
    errors: [
      ...BODY_ERRORS,
      ...STEP_ERRORS,
      ...KV_RUN_ERRORS,
      "invalid_idempotency_key",
      "agent_not_found",
      "run_finished",
      "step_in_progress",
      "step_lost",
      "not_awaiting_input",
      "state_too_large",
      "store_full",
    ],
    auth: true,
    streamsStep: true,
  },
  {
    method: "post",
    path: "/v1/runs/:runId/input",
    summary: "Answer a paused KV run (approve or reject tool calls, or answer the question)",
    body: "InputBody",
    responses: { 200: { description: "The step finished with the input", schema: "KvStep", streams: true } },
    errors: [
      ...BODY_ERRORS,
      ...STEP_ERRORS,
      ...KV_RUN_ERRORS,
      "invalid_input",
      "agent_not_found",
      "run_finished",
      "step_in_progress",
      "not_awaiting_input",
      "queue_not_configured",
      "state_too_large",
      "store_full",
    ],
    auth: true,
    streamsStep: true,
  },
  {
    method: "get",
    path: "/v1/runs/:runId",
    summary: "A KV run: status, steps, final answer, pending input",
    responses: { 200: { description: "The run", schema: "Run" } },
    errors: KV_RUN_ERRORS,
    auth: true,
  },
  {
    method: "get",
    path: "/v1/runs/:runId/events",
    summary: "Follow a KV run as Server-Sent Events",
    description: "Events: `step` (data: a StepRecord; `id` is its index, so `Last-Event-ID` or `?after=` resumes " +
      "after it), `awaiting_input` (data: PendingInput or null) when the run pauses, `delta` (data: a DeltaEvent) " +
      "for the step in flight of a background run (never stored or replayed), and a last `end` (data: " +
      "RunEndEvent) once the run has ended. A stream ends after `events.maxDurationMs`; reconnect with " +
      "`Last-Event-ID`.",
    parameters: [
      { name: "Last-Event-ID", in: "header", description: "Continue after this step index." },
      { name: "after", in: "query", description: "Continue after this step index (for clients without headers)." },
    ],
    responses: { 200: { description: "The event stream", media: "text/event-stream" } },
    errors: KV_RUN_ERRORS,
    auth: true,
  },
  {
    method: "get",
    path: "/v1/runs/:runId/blobs/:sha256",
    summary: "The bytes of a blob the run refers to (`blob:sha256:<hex>` in its steps), by its digest",
    description: "The media type is sniffed from the bytes, never taken from a ref: known image and audio formats " +
      "are served inline; anything else as `text/plain` or `application/octet-stream` with `Content-Disposition: " +
      "attachment`. Always `X-Content-Type-Options: nosniff`. Only the run's own blobs: a digest the run does not " +
      "refer to is `blob_not_found`, whoever else stored it.",
    responses: {
      200: {
        description: "The blob's bytes",
        media: ["image/*", "audio/*", "text/plain", "application/octet-stream"],
        headers: {
          "Content-Disposition": "`inline` for images and audio, else `attachment` with a file name.",
          "X-Content-Type-Options": "`nosniff`.",
        },
      },
    },
    errors: [...KV_RUN_ERRORS, "blob_not_found"],
    auth: true,
  },
  {
    method: "post",
    path: "/v1/runs/:runId/cancel",
    summary: "Cancel a KV run: at once when idle (200), after the step in flight otherwise (202)",
    responses: {
      200: { description: "Cancelled", schema: "Cancel" },
      202: { description: "Cancelled after the step in flight", schema: "Cancel" },
    },
    errors: [...KV_RUN_ERRORS, "request_timeout"],
    auth: true,
  },
  {
    method: "delete",
    path: "/v1/runs/:runId",
    summary: "Remove a KV run, its cancel flag and its blobs",
    responses: { 204: { description: "Removed" } },
    errors: [...KV_RUN_ERRORS, "step_in_progress"],
    auth: true,
  },
  {
    method: "post",
    path: "/v1/hooks/:name",
    summary: "A signed webhook delivery starts a background run (authenticated by its signature, not the API key)",
    description: "The body is the sender's payload in its own media type (Standard Webhooks, GitHub, Stripe " +
      "signatures).",
    responses: {
      202: { description: "A background run started", schema: "HookAccepted" },
      200: { description: "A delivery seen before: nothing started", schema: "HookDuplicate" },
    },
    errors: [
      "request_timeout",
      "invalid_json",
      "json_too_deep",
      "json_too_large",
      "payload_too_large",
      "missing_delivery_id",
      "missing_timestamp",
      "invalid_signature_header",
      "missing_signature",
      "invalid_signature",
      "stale_timestamp",
      "agent_not_found",
      "webhook_not_configured",
      "delivery_in_progress",
      "store_not_configured",
      "queue_not_configured",
      "task_too_large",
      "state_too_large",
      "store_full",
    ],
  },
  ...OPENAI_ROUTES,
];

const BY_ROUTE = new Map(ROUTES.map((route) => [`${route.method} ${route.path}`, route]));

/** The table's entry for a mounted route: Hono's method and route path (`c.req.method`, `c.req.routePath`). */
export function documentedRoute(method: string, routePath: string): RouteSpec | undefined {
  return BY_ROUTE.get(`${method.toLowerCase()} ${routePath}`);
}

/** The status of an error code: the routes' own table, then the server's (`ERROR_STATUS`). */
export function errorStatus(code: string): number {
  const status = ROUTE_ERROR_STATUS[code] ?? ERROR_STATUS[code];
  if (status === undefined) throw new Error(`No HTTP status for error code '${code}'.`);
  return status;
}
