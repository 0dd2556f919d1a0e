import { BODY_ERRORS, type RouteSpec } from "./openapi_route_spec.ts";

/** The OpenAI-compatible routes as the OpenAPI document describes them (lib/http/openapi_route_table.ts). */
export const OPENAI_ROUTES: RouteSpec[] = [
  {
    method: "get",
    path: "/v1/models",
    summary: "OpenAI-compatible: the agents, as models",
    responses: { 200: { description: "The agents in OpenAI's list shape", schema: "ModelList" } },
    errors: [],
    auth: true,
    errorSchema: "OpenAIError",
  },
  {
    method: "get",
    path: "/v1/models/:id",
    summary: "OpenAI-compatible: one agent, as a model",
    responses: { 200: { description: "The agent", schema: "Model" } },
    errors: ["model_not_found"],
    auth: true,
    errorSchema: "OpenAIError",
  },
  {
    method: "post",
    path: "/v1/chat/completions",
    summary: "OpenAI-compatible: run the agent named by `model` to its final answer (a KV run)",
    description: "The last (user) message is the task, earlier ones its context. `finish_reason` `length`: the " +
      "run ran out of steps. Streams put progress in `delta.reasoning_content`. With an `Idempotency-Key` header, a " +
      "retry of the same request (same key, credentials and body, within a day) answers from the run the first " +
      "started; the same key and credentials with another body are refused (422 `idempotency_key_reused`). README: " +
      "OpenAI-compatible endpoint.",
    body: "ChatCompletionBody",
    responses: {
      200: {
        description: "The answer",
        schema: "ChatCompletion",
        headers: { "X-Smolstep-Run-Id": "The run behind the answer (`GET /v1/runs/{runId}`)." },
        eventStream: { data: "ChatCompletionChunk", error: "OpenAIError" },
      },
    },
    errors: [
      ...BODY_ERRORS,
      "unsupported_parameter",
      "url_not_allowed",
      "model_not_found",
      "store_not_configured",
      "task_too_large",
      "state_too_large",
      "store_full",
      "model_error",
      "step_timeout",
      "shutting_down",
      "step_in_progress",
      "run_failed",
      "run_cancelled",
      "run_finished",
      "awaiting_input",
      "invalid_idempotency_key",
      "request_in_progress",
      "idempotency_key_reused",
      "run_not_found",
      "follow_limit_reached",
    ],
    auth: true,
    errorSchema: "OpenAIError",
  },
];
