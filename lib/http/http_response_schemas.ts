import * as z from "zod";
import { agentStateSchemas } from "../memory/agent_state.ts";
import { stepRecordSchemas } from "../memory/step_records.ts";

const { PendingInputSchema, RunStatusSchema } = agentStateSchemas();
const { StepErrorSchema, StepRecordSchema, TokenUsageSchema } = stepRecordSchemas();

/**
 * The JSON shapes the HTTP API answers with, as zod schemas: the OpenAPI document (./openapi.ts) is generated from
 * them, and tests/http/openapi_test.ts checks real responses of the app against that document. The views that build
 * these bodies are in ./run_views.ts, ./health.ts and the route files.
 */

/** Every error: `{error: {code, message, retryable}}` (./http_errors.ts). */
export const ErrorBody = z.object({
  error: z.object({
    /** Stable and machine-readable; the codes each route answers with are listed per status in the document. */
    code: z.string(),
    message: z.string(),
    /** Whether the same request may succeed later (a `Retry-After` header says when). */
    retryable: z.boolean(),
  }),
});

const StepViewFields = {
  status: RunStatusSchema,
  /** The managed agent that took this step, when it was not the run's own agent. */
  stepAgent: z.string().optional(),
  stepNumber: z.number().int(),
  maxSteps: z.number().int(),
  /** The record the step appended (null when the step appended nothing, e.g. a cancelled run). */
  step: StepRecordSchema.nullable(),
  /** Present once the run has ended. */
  finalAnswer: z.unknown().optional(),
  error: StepErrorSchema.optional(),
  pendingInput: PendingInputSchema.optional(),
  tokenUsage: TokenUsageSchema.nullable(),
};

/** `POST /v1/runs/{runId}/steps` and `/input`. */
export const KvStepResponse = z.object({ runId: z.string(), ...StepViewFields });

/** `POST /v1/agents/{name}/steps` and `/input`: the new `state` token replaces the one sent. */
export const StatelessStepResponse = z.object({ agent: z.string(), ...StepViewFields, state: z.string() });

/** `GET /v1/runs/{runId}` and a KV `POST /v1/agents/{name}/runs`. */
export const RunResponse = z.object({
  runId: z.string(),
  agent: z.string(),
  status: RunStatusSchema,
  task: z.string(),
  stepNumber: z.number().int(),
  maxSteps: z.number().int(),
  steps: z.array(StepRecordSchema),
  finalAnswer: z.unknown(),
  error: StepErrorSchema.nullable(),
  pendingInput: PendingInputSchema.nullable(),
  tokenUsage: TokenUsageSchema.nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  /** When the store may drop the run. */
  expiresAt: z.iso.datetime(),
  background: z.boolean(),
});

/** A stateless `POST /v1/agents/{name}/runs`: the run is the `state` token. */
export const StatelessRunResponse = z.object({ agent: z.string(), status: RunStatusSchema, state: z.string() });

/** `POST /v1/runs/{runId}/cancel`: 200 when cancelled at once, 202 when the step in flight ends first. */
export const CancelResponse = z.object({ runId: z.string(), status: RunStatusSchema, cancelled: z.boolean() });

/** `GET /v1/agents` */
export const AgentsResponse = z.object({
  agents: z.array(z.object({
    name: z.string(),
    kind: z.string(),
    description: z.string().optional(),
    maxSteps: z.number().int(),
    tools: z.array(z.object({
      name: z.string(),
      description: z.string(),
      inputs: z.record(z.string(), z.unknown()),
      outputType: z.string(),
      /** The tool's arguments as a JSON Schema. */
      parameters: z.unknown(),
      needsApproval: z.literal(true).optional(),
      /** Present (false) when the tool refuses direct calls (`POST /v1/tools/{name}`). */
      directCalls: z.literal(false).optional(),
    })),
    webhook: z.boolean(),
  })),
  /** Which run modes this server offers. */
  modes: z.object({ kv: z.boolean(), stateless: z.boolean(), background: z.boolean() }),
});

/** `POST /v1/hooks/{name}`: 202 when a run started, 200 for a delivery seen before. */
export const HookAcceptedResponse = z.object({ runId: z.string(), status: RunStatusSchema });
export const HookDuplicateResponse = z.object({ duplicate: z.literal(true), runId: z.string() });

/** `GET /health` */
export const HealthResponse = z.object({
  ok: z.literal(true),
  version: z.string(),
  agents: z.number().int(),
  uptimeSeconds: z.number().int(),
  stepsInFlight: z.number().int(),
  maxStepsInFlight: z.number().int(),
});

/** SSE `event: delta` (Round 3 streaming): a model delta of the step in flight; never stored or replayed. */
export const DeltaEvent = z.object({
  type: z.literal("delta"),
  agent: z.string(),
  stepNumber: z.number().int(),
  text: z.string().optional(),
  toolCall: z.object({
    index: z.number().int(),
    id: z.string().optional(),
    name: z.string().optional(),
    arguments: z.string().optional(),
  }).optional(),
});

/** SSE `event: end` of `GET /v1/runs/{runId}/events`. */
export const RunEndEvent = z.object({
  status: RunStatusSchema,
  finalAnswer: z.unknown(),
  error: StepErrorSchema.nullable(),
});

/** `POST /v1/tools/{name}`: one direct tool call's result (media outputs as a data URL). */
export const ToolCallResponse = z.object({
  tool: z.string(),
  agent: z.string(),
  outputType: z.string(),
  output: z.unknown(),
  media: z.object({ mediaType: z.string(), dataUrl: z.string() }).optional(),
  durationMs: z.number(),
});
