import { z } from "zod";
import { VERSION } from "../version.ts";
import { ERROR_STATUS } from "./http_errors.ts";
import {
  AgentsResponse,
  CancelResponse,
  DeltaEvent,
  ErrorBody,
  HealthResponse,
  HookAcceptedResponse,
  HookDuplicateResponse,
  KvStepResponse,
  RunEndEvent,
  RunResponse,
  StatelessRunResponse,
  StatelessStepResponse,
  ToolCallResponse,
} from "./http_response_schemas.ts";
import {
  CreateRunBody,
  InputBody,
  StatelessInputBody,
  StatelessStepBody,
  StepBody,
  ToolCallBody,
} from "./http_schemas.ts";
import { PendingInputSchema, RunStatusSchema } from "../memory/agent_state.ts";
import { StepErrorSchema, StepRecordSchema, TokenUsageSchema } from "../memory/step_records.ts";

/**
 * `GET /openapi.json`: an OpenAPI 3.1 document generated from the zod schemas the routes validate request bodies
 * with (./http_schemas.ts) and the response schemas (./http_response_schemas.ts), through zod 4's `z.toJSONSchema`.
 * The route table below is the one list of routes the document describes; tests/http/openapi_test.ts walks the
 * app's mounted routes against it and validates real responses against the document.
 */

/** The named schemas of `components.schemas`; routes refer to them by name. */
const COMPONENTS = {
  CreateRunBody,
  StepBody,
  InputBody,
  StatelessStepBody,
  StatelessInputBody,
  Error: ErrorBody,
  Agents: AgentsResponse,
  Run: RunResponse,
  StatelessRun: StatelessRunResponse,
  KvStep: KvStepResponse,
  StatelessStep: StatelessStepResponse,
  Cancel: CancelResponse,
  HookAccepted: HookAcceptedResponse,
  HookDuplicate: HookDuplicateResponse,
  Health: HealthResponse,
  ToolCallBody,
  ToolCall: ToolCallResponse,
  StepRecord: StepRecordSchema,
  PendingInput: PendingInputSchema,
  RunStatus: RunStatusSchema,
  StepError: StepErrorSchema,
  TokenUsage: TokenUsageSchema,
  DeltaEvent,
  RunEndEvent,
} satisfies Record<string, z.ZodType>;

/** Request bodies are described as the routes read them; responses as they are written. */
const REQUEST_BODIES = new Set([
  "CreateRunBody",
  "StepBody",
  "InputBody",
  "StatelessStepBody",
  "StatelessInputBody",
  "ToolCallBody",
]);

type SchemaName = keyof typeof COMPONENTS;

/**
 * Codes answered by the routes themselves (`HttpError`s and middleware) rather than through `ERROR_STATUS`, with
 * their status. A code in both must agree (the test checks).
 */
export const ROUTE_ERROR_STATUS: Readonly<Record<string, number>> = {
  invalid_request: 400,
  invalid_idempotency_key: 400,
  unauthorized: 401,
  stateless_replay_unsafe: 403,
  direct_calls_disabled: 403,
  invalid_arguments: 400,
  tool_not_found: 404,
  tool_failed: 422,
  tool_timeout: 504,
  agent_not_found: 404,
  webhook_not_configured: 404,
  payload_too_large: 413,
  unsupported_media_type: 415,
  internal_error: 500,
  store_not_configured: 501,
  stateless_not_configured: 501,
  queue_not_configured: 501,
  overloaded: 503,
  delivery_in_progress: 409,
};

export interface RouteSpec {
  method: "get" | "post" | "delete";
  /** Hono's path syntax (`:name`); the document uses `{name}`. */
  path: string;
  summary: string;
  description?: string;
  /** Names of the request-body schema; `bodyOptional` when a bodiless request is fine. */
  body?: SchemaName;
  bodyOptional?: boolean;
  /** Success responses: status -> schema name (JSON), or a media type description for non-JSON answers. */
  responses: Record<
    number,
    { description: string; schema?: SchemaName; media?: string; streams?: boolean; headers?: Record<string, string> }
  >;
  /** Error codes this route answers with (status from `ERROR_STATUS` or `ROUTE_ERROR_STATUS`). */
  errors: string[];
  /** Under `/v1`: needs the API key when the app has `apiKeys`. */
  auth?: boolean;
  /** Step routes: `Accept: text/event-stream` streams deltas then the step (Round 3 contract). */
  streamsStep?: boolean;
  /** Present only when the app has metrics on. */
  metricsOnly?: boolean;
  /** Present only when the app serves the playground pages. */
  playgroundOnly?: boolean;
  /** Query parameters and headers. */
  parameters?: Array<{ name: string; in: "query" | "header"; description: string }>;
}

const BODY_ERRORS = [
  "invalid_request",
  "invalid_json",
  "json_too_deep",
  "json_too_large",
  "payload_too_large",
  "unsupported_media_type",
];
const STEP_ERRORS = ["model_error", "step_timeout", "overloaded", "not_configured", "step_refused", "invalid_state"];
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

const STREAMED =
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
    summary: "Start a run (KV by default; `stateless: true` returns a state token; `background: true` queues it)",
    body: "CreateRunBody",
    responses: {
      201: {
        description: "A KV run (`Location` names it), or a stateless run's first token",
        schema: "Run",
        headers: { Location: "The KV run's URL, `/v1/runs/{runId}`." },
      },
    },
    errors: [
      ...BODY_ERRORS,
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
  },
  {
    method: "post",
    path: "/v1/agents/:name/steps",
    summary: "One stateless step: send the state token, get the step and the next token",
    body: "StatelessStepBody",
    responses: { 200: { description: "The step taken", schema: "StatelessStep", streams: true } },
    errors: [...BODY_ERRORS, ...STEP_ERRORS, ...STATELESS_ERRORS, "not_awaiting_input"],
    auth: true,
    streamsStep: true,
  },
  {
    method: "post",
    path: "/v1/agents/:name/input",
    summary: "Answer a paused stateless run (approve or reject tool calls, or answer the question)",
    body: "StatelessInputBody",
    responses: { 200: { description: "The step finished with the input", schema: "StatelessStep", streams: true } },
    errors: [...BODY_ERRORS, ...STEP_ERRORS, ...STATELESS_ERRORS, "invalid_input"],
    auth: true,
    streamsStep: true,
  },
  {
    method: "post",
    path: "/v1/runs/:runId/steps",
    summary: "One step of a KV run (the body, when sent, is `{}`)",
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
    method: "post",
    path: "/v1/runs/:runId/cancel",
    summary: "Cancel a KV run: at once when idle (200), after the step in flight otherwise (202)",
    responses: {
      200: { description: "Cancelled", schema: "Cancel" },
      202: { description: "Cancelled after the step in flight", schema: "Cancel" },
    },
    errors: KV_RUN_ERRORS,
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
];

/** The status of an error code: the routes' own table, then the server's (`ERROR_STATUS`). */
export function errorStatus(code: string): number {
  const status = ROUTE_ERROR_STATUS[code] ?? ERROR_STATUS[code];
  if (status === undefined) throw new Error(`No HTTP status for error code '${code}'.`);
  return status;
}

export interface OpenApiOptions {
  /** The app requires API keys on `/v1` (and `/metrics`). */
  apiKeys: boolean;
  /** The app serves `/metrics`. */
  metrics: boolean;
  /** The app serves the playground pages (default true). */
  playground?: boolean;
}

/** Codes answered with a `Retry-After` header. */
const RETRY_AFTER = new Set(["overloaded", "delivery_in_progress"]);

const headerObjects = (headers: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(headers).map(([name, description]) => [name, { description, schema: { type: "string" } }]),
  );

const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` });
const openApiPath = (path: string) => path.replace(/:(\w+)/g, "{$1}");

function operation(route: RouteSpec, options: OpenApiOptions) {
  const parameters = [
    ...[...route.path.matchAll(/:(\w+)/g)].map(([, name]) => ({
      name,
      in: "path",
      required: true,
      schema: { type: "string" },
    })),
    ...(route.parameters ?? []).map((p) => ({ ...p, required: false, schema: { type: "string" } })),
    ...(route.streamsStep
      ? [{
        name: "Accept",
        in: "header",
        required: false,
        description: "`text/event-stream` streams the step's model deltas, then the step.",
        schema: { type: "string" },
      }]
      : []),
  ];
  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(route.responses)) {
    const content: Record<string, unknown> = {};
    if (response.schema) content["application/json"] = { schema: ref(response.schema) };
    if (response.media) {
      content[response.media] = {
        schema: response.media === "application/json" ? { type: "object" } : { type: "string" },
      };
    }
    if (response.streams) {
      content["text/event-stream"] = {
        schema: { type: "string", description: STREAMED },
        "x-sse-events": { delta: ref("DeltaEvent"), step: ref(response.schema!), error: ref("Error") },
      };
    }
    if (route.path === "/v1/runs/:runId/events") {
      content["text/event-stream"] = {
        schema: { type: "string" },
        "x-sse-events": {
          step: ref("StepRecord"),
          awaiting_input: { oneOf: [ref("PendingInput"), { type: "null" }] },
          delta: ref("DeltaEvent"),
          end: ref("RunEndEvent"),
        },
      };
    }
    responses[status] = {
      description: response.description,
      ...(response.headers ? { headers: headerObjects(response.headers) } : {}),
      ...(Object.keys(content).length ? { content } : {}),
    };
  }
  if (route.path === "/v1/agents/:name/runs") {
    const created = responses[201] as { content: Record<string, { schema: unknown }> };
    created.content["application/json"].schema = { oneOf: [ref("Run"), ref("StatelessRun")] };
  }
  const codes = new Set([...route.errors, "internal_error"]);
  if (route.auth && options.apiKeys) codes.add("unauthorized");
  const byStatus = new Map<number, string[]>();
  for (const code of codes) byStatus.set(errorStatus(code), [...(byStatus.get(errorStatus(code)) ?? []), code]);
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[status] = {
      description: `Error: ${list.map((code) => `\`${code}\``).join(", ")}`,
      ...(list.some((code) => RETRY_AFTER.has(code))
        ? { headers: headerObjects({ "Retry-After": "Seconds to wait before retrying." }) }
        : {}),
      content: {
        "application/json": {
          schema: {
            allOf: [ref("Error"), {
              type: "object",
              properties: { error: { type: "object", properties: { code: { enum: list } } } },
            }],
          },
        },
      },
    };
  }
  return {
    operationId: `${route.method}${
      openApiPath(route.path).replace(/[{}]/g, "").split("/").map((s) => s.charAt(0).toUpperCase() + s.slice(1))
        .join("")
    }`,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(route.body
      ? { requestBody: { required: !route.bodyOptional, content: { "application/json": { schema: ref(route.body) } } } }
      : {}),
    responses,
    ...(route.auth && options.apiKeys ? { security: [{ apiKey: [] }] } : { security: [] }),
  };
}

/** The routes the app mounts with these options. */
export function mountedRoutes(options: OpenApiOptions): RouteSpec[] {
  return ROUTES.filter((route) =>
    (options.metrics || !route.metricsOnly) && (options.playground !== false || !route.playgroundOnly)
  );
}

/** Builds the OpenAPI 3.1 document of an app with these options. */
export function openApiDocument(options: OpenApiOptions): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of mountedRoutes(options)) {
    (paths[openApiPath(route.path)] ??= {})[route.method] = operation(route, options);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "smolstep",
      version: VERSION,
      description: "Agents as a stepwise HTTP API. Every error is `{error: {code, message, retryable}}`.",
    },
    paths,
    components: {
      schemas: componentSchemas(),
      ...(options.apiKeys ? { securitySchemes: { apiKey: { type: "http", scheme: "bearer" } } } : {}),
    },
  };
}

/**
 * `components.schemas`: request bodies as the routes read them (`io: "input"`), responses as they are written, with
 * schemas shared between responses (a step record in a run and in a step) as `$ref`s.
 */
function componentSchemas(): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  const schemas: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(COMPONENTS)) {
    if (!REQUEST_BODIES.has(name)) {
      registry.add(schema, { id: name });
      continue;
    }
    const { $schema: _, ...json } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
    schemas[name] = json;
  }
  const responses = z.toJSONSchema(registry, {
    uri: (id) => `#/components/schemas/${id}`,
    unrepresentable: "any",
  }).schemas;
  for (const [name, json] of Object.entries(responses)) {
    const { $schema: _, $id: __, ...rest } = json as Record<string, unknown>;
    schemas[name] = rest;
  }
  return schemas;
}
