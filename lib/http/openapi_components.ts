import type { z } from "zod";
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
import {
  ChatCompletionBody,
  ChatCompletionChunk,
  ChatCompletionResponse,
  ModelList,
  ModelObject,
  OpenAIErrorBody,
} from "./openai_schemas.ts";
import { agentStateSchemas } from "../memory/agent_state.ts";
import { stepRecordSchemas } from "../memory/step_records.ts";

const { PendingInputSchema, RunStatusSchema } = agentStateSchemas();
const { StepErrorSchema, StepRecordSchema, TokenUsageSchema } = stepRecordSchemas();

/** The request bodies, as the routes read them: `readJson` (./request_body.ts) validates with these very objects. */
export const REQUEST_BODY_SCHEMAS = {
  CreateRunBody,
  StepBody,
  InputBody,
  StatelessStepBody,
  StatelessInputBody,
  ToolCallBody,
  ChatCompletionBody,
} satisfies Record<string, z.ZodType>;

export type BodyName = keyof typeof REQUEST_BODY_SCHEMAS;

/** The named schemas of the OpenAPI document's `components.schemas` (lib/http/openapi.ts); routes name them. */
export const COMPONENTS = {
  ...REQUEST_BODY_SCHEMAS,
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
  ToolCall: ToolCallResponse,
  StepRecord: StepRecordSchema,
  PendingInput: PendingInputSchema,
  RunStatus: RunStatusSchema,
  StepError: StepErrorSchema,
  TokenUsage: TokenUsageSchema,
  DeltaEvent,
  RunEndEvent,
  ChatCompletion: ChatCompletionResponse,
  ChatCompletionChunk,
  Model: ModelObject,
  ModelList,
  OpenAIError: OpenAIErrorBody,
} satisfies Record<string, z.ZodType>;

/** Request bodies are described as the routes read them; responses as they are written. */
export const REQUEST_BODIES: ReadonlySet<string> = new Set(Object.keys(REQUEST_BODY_SCHEMAS));

export type SchemaName = keyof typeof COMPONENTS;
