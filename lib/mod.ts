/**
 * smolstep: smolagents-style agents for edge runtimes, one step per invocation.
 * The edge-safe public names are exported here. Runtime adapters with runtime-specific types are imported by path:
 * `lib/adapters/deno/deno_kv_store.ts` and `lib/adapters/deno/deno_kv_queue.ts` (Deno KV), `lib/adapters/deno/quickjs_wasm_deno.ts` (loads the sandbox's WASM in
 * Deno/Node; Workers import the .wasm file, see `QuickJSExecutor`).
 * Hugging Face's client is a separate entry too: import `InferenceClientModel` from
 * `lib/models/inference_client_model.ts` and `HfApiEngine` from `lib/models/hf_api_engine.ts`. `@huggingface/inference`
 * cannot be tree-shaken (about 118 KiB gzip), so exporting it here would grow every Workers bundle.
 * Local models are a separate entry, deliberately not re-exported here: import `TransformersModel` and
 * `TransformersEngine` from `lib/models/transformers_model.ts` (transformers.js + ONNX Runtime, Deno/Node only), so
 * that heavy dependency never reaches bundles built from this module, such as the Workers bundle.
 */

// Agents
export { MultiStepAgent, StepRefusedError } from "./agents/multi_step_agent.ts";
export type { ActionFields, ActionOutcome, StepContext, StepOptions, StepResult } from "./agents/multi_step_agent.ts";
export { ReactJsonAgent, TOOL_CALLING_STOP_SEQUENCES, ToolCallingAgent } from "./agents/tool_calling_agent.ts";
export type {
  AgentOptions,
  FinalAnswerCheck,
  RunOptions,
  StepCallback,
  StepCallbackContext,
  StepCallbacks,
} from "./agents/agent_options.ts";
export type { AgentEvent, RunResult } from "./agents/agent_events.ts";
export { parseJsonIfNeeded, parseToolCallFromText } from "./agents/tool_call_parsing.ts";
export { TOOL_CALLING_SYSTEM_PROMPT } from "./agents/prompts/tool_calling_prompt.ts";
export { CODE_TOOL_NAME, CodeAgent, ReactCodeAgent } from "./agents/code_agent.ts";
export { ManagedAgent } from "./agents/managed_agent.ts";
export { modelFactory } from "./agents/agent_definition.ts";
export type { AgentDefinition, AgentDependencies, AgentKind, AgentKinds } from "./agents/agent_definition.ts";
export { agentFromJSON, BUILTIN_AGENT_KINDS } from "./agents/agent_kinds.ts";
export { formatReplay } from "./memory/replay.ts";
export type { ManagedAgentOptions } from "./agents/managed_agent.ts";
export { END_PLAN, INITIAL_PLAN_PROMPT, UPDATE_PLAN_PROMPT } from "./agents/prompts/planning_prompts.ts";
export type { CodeAgentOptions } from "./agents/code_agent.ts";
export { type CodeBlockTags, DEFAULT_CODE_BLOCK_TAGS, parseCodeBlobs } from "./agents/code_parsing.ts";
export { CODE_AGENT_SYSTEM_PROMPT, toolSignature } from "./agents/prompts/code_agent_prompt.ts";

// Code sandbox (Deno/Node loader: lib/adapters/deno/quickjs_wasm_deno.ts)
export { formatObservation } from "./executors/executor.ts";
export type { CodeExecutionResult, CodeExecutor, ExecuteOptions, SandboxTool } from "./executors/executor.ts";
export { QuickJSExecutor } from "./executors/quickjs_executor.ts";
export type { QuickJSExecutorOptions } from "./executors/quickjs_executor.ts";

// Memory and state
export { AgentStateSchema, parseAgentState, STATE_VERSION, StateVersionError } from "./memory/agent_state.ts";
export type { AgentState, PendingInput, RunStatus, SubRun } from "./memory/agent_state.ts";
export type { ActionStep, PlanningStep, StepRecord, TaskStep } from "./memory/step_records.ts";
export { memoryToMessages, RETRY_HINT } from "./memory/memory_to_messages.ts";
export { boundedMemoryToMessages, estimateTokens } from "./memory/bounded_memory.ts";

// Models
export type {
  ChatMessage,
  ChatMessageStreamDelta,
  ChatToolCall,
  ContentPart,
  MessageRole,
  TokenUsage,
  ToolDefinition,
} from "./models/chat_message.ts";
export type { GenerateOptions, Model, ModelFunction, ModelLike } from "./models/model.ts";
export { toModel } from "./models/model.ts";
export { textOf } from "./models/chat_message.ts";
export { OpenAIServerModel } from "./models/openai_server_model.ts";
export type { OpenAIServerModelOptions } from "./models/openai_server_model.ts";
export { OpenAIClientModel } from "./models/openai_client_model.ts";
export type { RemoteModelOptions } from "./models/request_runner.ts";
export { AzureOpenAIServerModel } from "./models/azure_openai_server_model.ts";
export type { AzureOpenAIEnv, AzureOpenAIServerModelOptions } from "./models/azure_openai_server_model.ts";
export { LiteLLMModel, resolveLiteLLMRoute } from "./models/litellm_model.ts";
export type { LiteLLMModelOptions, LiteLLMRoute } from "./models/litellm_model.ts";
export { LITELLM_PROVIDERS } from "./models/litellm_providers.ts";
export type { LiteLLMProvider } from "./models/litellm_providers.ts";
export { MLX_DEFAULT_API_BASE, MLXModel } from "./models/mlx_model.ts";
export type { MLXModelOptions } from "./models/mlx_model.ts";
export { RateLimiter, withRetry } from "./models/retry.ts";
export { modelTimeLimits, worstCaseMs } from "./models/model_time_limits.ts";
export type { ModelTimeLimitChoices, ModelTimeLimits } from "./models/model_time_limits.ts";

// Tools
export { Tool, tool } from "./tools/tool.ts";
export type { ToolContext, ToolSpec } from "./tools/tool.ts";
export { DEFAULT_TOOL_TIMEOUT_MS, ToolTimeoutError } from "./tools/tool_time_limit.ts";
export type { ToolInput, ToolInputs, ToolInputType } from "./tools/tool_inputs.ts";
export { FinalAnswerTool } from "./tools/final_answer_tool.ts";
export { UserInputTool } from "./tools/user_input_tool.ts";
export type { ApprovalCheck } from "./tools/tool.ts";
export { Toolbox } from "./tools/toolbox.ts";
export { calculatorTool, evaluateExpression } from "./tools/calculator_tool.ts";

// Agent types and blobs
export { AgentAudio, AgentImage, AgentText } from "./types/agent_types.ts";
export { isAgentType, unwrapAgentValue, unwrapToolArguments, wrapToolOutput } from "./types/agent_values.ts";
export type { AgentType } from "./types/agent_values.ts";
export { BlobStore, MemoryBlobStore, resolveRef } from "./stores/blob_store.ts";
export type { BlobStorage } from "./stores/blob_store.ts";

// Stores and runs
export type { PutOptions, PutResult, StateStore, StoredValue } from "./stores/state_store.ts";
export { MemoryStore } from "./stores/memory_store.ts";
export { CloudflareKvStore } from "./adapters/cloudflare/cloudflare_kv_store.ts";
export type { WorkersKvNamespace } from "./adapters/cloudflare/cloudflare_kv_store.ts";
export { RunService } from "./runs/run_service.ts";
export type { AgentForRun } from "./runs/run_service.ts";
export { RunError, type RunRecord } from "./runs/run_record.ts";
export { DEFAULT_IDLE_RUN_TTL_SECONDS, DEFAULT_RUN_TTL_SECONDS } from "./runs/run_lifecycle.ts";
export { StateTokenCodec, StateTokenError } from "./runs/state_token.ts";
export { InProcessQueue, isQueueMessage } from "./runs/run_queue.ts";
export type { QueueHandler, QueueMessage, RunQueue } from "./runs/run_queue.ts";
export { CloudflareQueue } from "./adapters/cloudflare/cloudflare_queue.ts";
export type { WorkersQueue } from "./adapters/cloudflare/cloudflare_queue.ts";
export { BackgroundRunner } from "./runs/background_runner.ts";
export {
  DEFAULT_LOCK_TTL_MS,
  defaultStepTimeoutMs,
  startStepDeadline,
  type StepDeadline,
  StepTimeoutError,
  withStepDeadline,
} from "./runs/step_deadline.ts";
export { signPayload, verifyPayload } from "./crypto/hmac.ts";

// Egress (every server-side fetch of a URL from outside)
export { assertUrlAllowed, checkUrl, EgressError, guardedFetch } from "./net/egress.ts";
export type { EgressPolicy, UrlCheck } from "./net/egress.ts";
export { BodyTooLargeError, readBodyCapped } from "./net/read_body.ts";

// HTTP
export { createApp, createSmolstep, DEFAULT_MAX_BODY_BYTES } from "./http/app.ts";
export type { AppOptions, Smolstep } from "./http/app.ts";
export type { Health } from "./http/health.ts";

// Metrics (Prometheus text on GET /metrics, OpenTelemetry through @opentelemetry/api)
export { Metrics } from "./metrics/metrics.ts";
export type { MetricsOptions } from "./metrics/metrics.ts";
export { PROMETHEUS_CONTENT_TYPE } from "./metrics/prometheus_text.ts";
export { instrumentStore } from "./metrics/instrumented_store.ts";
export type { StoreObserver } from "./metrics/instrumented_store.ts";
export type { ModelCallOutcome, ModelObserver } from "./models/model_observer.ts";
export type { RunMode, RunObserver, StepObserver, StepOutcomeKind } from "./runs/run_observer.ts";
export { VERSION } from "./version.ts";
export { renderTaskTemplate } from "./http/webhooks.ts";
export type { WebhookConfig, WebhookTask } from "./http/webhooks.ts";
export { verifyWebhook, WEBHOOK_SCHEME_NAMES } from "./webhooks/verify_webhook.ts";
export type { VerifyWebhookOptions } from "./webhooks/verify_webhook.ts";
export { signStandardWebhook } from "./webhooks/standard_webhooks.ts";
export { WebhookVerificationError } from "./webhooks/webhook_scheme.ts";
export type { VerifiedDelivery, WebhookSchemeName } from "./webhooks/webhook_scheme.ts";
export type { EventStreamOptions } from "./http/run_events.ts";
export { HttpError } from "./http/http_errors.ts";
export { DEFAULT_MAX_STEPS_IN_FLIGHT, StepAdmission } from "./http/admission.ts";

// Errors
export {
  AgentError,
  AgentExecutionError,
  AgentGenerationError,
  AgentMaxStepsError,
  AgentParsingError,
  AgentToolCallError,
  AgentToolExecutionError,
  ConfigurationError,
  InvalidInputError,
  ModelError,
  SmolstepError,
  type SmolstepErrorOptions,
} from "./errors.ts";
