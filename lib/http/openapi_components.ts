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
import { PendingInputSchema, RunStatusSchema } from "../memory/agent_state.ts";
import { StepErrorSchema, StepRecordSchema, TokenUsageSchema } from "../memory/step_records.ts";

/** The named schemas of the OpenAPI document's `components.schemas` (lib/http/openapi.ts); routes name them. */
export const COMPONENTS = {
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
  ChatCompletionBody,
  ChatCompletion: ChatCompletionResponse,
  ChatCompletionChunk,
  Model: ModelObject,
  ModelList,
  OpenAIError: OpenAIErrorBody,
} satisfies Record<string, z.ZodType>;

/** Request bodies are described as the routes read them; responses as they are written. */
export const REQUEST_BODIES = new Set([
  "CreateRunBody",
  "StepBody",
  "InputBody",
  "StatelessStepBody",
  "StatelessInputBody",
  "ToolCallBody",
  "ChatCompletionBody",
]);

export type SchemaName = keyof typeof COMPONENTS;
