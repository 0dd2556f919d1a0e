/**
 * smolstep: smolagents-style agents for edge runtimes, one step per invocation.
 *
 * This entry (`@smolstep/smolstep`) is the agent library, user-facing names only: agents, models, tools, memory and
 * agent state, agent types, the code sandbox, the egress guard, errors (the smolagents surface). It imports no
 * runtime-specific API, no heavy optional dependency and none of the HTTP server, so it runs (and bundles) on Deno,
 * Node, Workers and in browsers, and an agent run in a script loads only what it uses. The other entries:
 *
 * - `@smolstep/smolstep/server`: the HTTP server (`createSmolstep`, `createApp`) and what only it uses: the
 *   in-memory store and queue, metrics, logs, webhook signatures, the step time limit.
 * - `@smolstep/smolstep/client`: the typed HTTP client (`fetch` only).
 * - `@smolstep/smolstep/deno` (lib/adapters/deno/mod.ts): Deno KV store and queue, the sandbox on worker threads, DNS
 *   lookups for egress.
 * - `@smolstep/smolstep/cloudflare` (lib/adapters/cloudflare/mod.ts): Workers KV store, Durable Object store and
 *   class, Cloudflare Queues and their consumer loop.
 * - `@smolstep/smolstep/hf`: `InferenceClientModel`, `HfApiEngine` (`@huggingface/inference`, about 118 KiB gzip).
 * - `@smolstep/smolstep/transformers`: `TransformersModel` (transformers.js + ONNX Runtime; Deno and Node only).
 * - `@smolstep/smolstep/testing`: a scripted OpenAI-compatible server to test agents offline.
 * - `@smolstep/smolstep/hub`: tools and agents on the Hub (`tool.save`, `tool.pushToHub`, `Tool.fromHub`,
 *   `MultiStepAgent.fromHub`) and Gradio apps (`Tool.fromSpace`, `Tool.fromGradio`, `ToolCollection.fromHub`).
 * - `@smolstep/smolstep/mcp` (and `/mcp/stdio`, Deno and Node): `MCPClient`, `ToolCollection.fromMcp`.
 * - `@smolstep/smolstep/pipelines`: `loadTool`, `PipelineTool` and the task tools.
 * - `@smolstep/smolstep/langchain`: `Tool.fromLangchain`.
 *
 * @module
 */

// Agents
export { MultiStepAgent, StepRefusedError } from "./agents/multi_step_agent.ts";
export type {
  ActionFields,
  ActionOutcome,
  StepContext,
  StepOptions,
  StepRefusedCode,
  StepResult,
} from "./agents/multi_step_agent.ts";
export { ReactJsonAgent, ToolCallingAgent } from "./agents/tool_calling_agent.ts";
export type {
  AgentOptions,
  FinalAnswerCheck,
  RunOptions,
  StepCallback,
  StepCallbackContext,
  StepCallbacks,
} from "./agents/agent_options.ts";
export type { AgentEvent, RunResult } from "./agents/agent_events.ts";
export { TOOL_CALLING_SYSTEM_PROMPT } from "./agents/prompts/tool_calling_prompt.ts";
export { CodeAgent, ReactCodeAgent } from "./agents/code_agent.ts";
export type { CodeAgentOptions } from "./agents/code_agent.ts";
export type { CodeBlockTags } from "./agents/code_parsing.ts";
export { CODE_AGENT_SYSTEM_PROMPT } from "./agents/prompts/code_agent_prompt.ts";
export { ManagedAgent } from "./agents/managed_agent.ts";
export type { ManagedAgentOptions } from "./agents/managed_agent.ts";
export { modelFactory } from "./agents/agent_definition.ts";
export type { AgentDefinition, AgentDependencies, AgentKind, AgentKinds } from "./agents/agent_definition.ts";
export { agentFromJSON, BUILTIN_AGENT_KINDS } from "./agents/agent_kinds.ts";
export { formatReplay } from "./memory/replay.ts";

// Code sandbox (threads on Deno: `@smolstep/smolstep/deno`)
export type { CodeExecutionResult, CodeExecutor, ExecuteOptions, SandboxTool } from "./executors/executor.ts";
export { QuickJSExecutor } from "./executors/quickjs_executor.ts";
export type { QuickJSExecutorOptions } from "./executors/quickjs_executor.ts";

// Memory and state
export { agentStateSchemas, parseAgentState, STATE_VERSION, StateVersionError } from "./memory/agent_state.ts";
export type { AgentState, AgentStateSchemas, PendingInput, RunStatus, SubRun } from "./memory/agent_state.ts";
export type {
  ActionStep,
  FinalAnswerStep,
  PlanningStep,
  StepError,
  StepRecord,
  TaskStep,
  Timing,
  ToolCallRecord,
} from "./memory/step_records.ts";

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
export { OpenAIServerModel } from "./models/openai_server_model.ts";
export type { OpenAIServerModelOptions } from "./models/openai_server_model.ts";
export { OpenAIClientModel } from "./models/openai_client_model.ts";
export type { ChatEndpoint, OpenAIClientModelSettings, OpenAIClientOptions } from "./models/openai_client_model.ts";
export type { RemoteModelOptions } from "./models/request_runner.ts";
export { AzureOpenAIServerModel } from "./models/azure_openai_server_model.ts";
export type {
  AzureClientOptions,
  AzureOpenAIEnv,
  AzureOpenAIServerModelOptions,
} from "./models/azure_openai_server_model.ts";
export { LiteLLMModel } from "./models/litellm_model.ts";
export type { LiteLLMModelOptions } from "./models/litellm_model.ts";
export { MLXModel } from "./models/mlx_model.ts";
export type { MLXModelOptions } from "./models/mlx_model.ts";
export { modelTimeLimits } from "./models/model_time_limits.ts";
export type { ModelTimeLimitChoices, ModelTimeLimits } from "./models/model_time_limits.ts";

// Tools
export { Tool, tool } from "./tools/tool.ts";
export type { ApprovalCheck, ToolContext, ToolSpec } from "./tools/tool.ts";
export { ToolTimeoutError } from "./tools/tool_time_limit.ts";
export type { ToolInput, ToolInputs, ToolInputType } from "./tools/tool_inputs.ts";
export { FinalAnswerTool } from "./tools/final_answer_tool.ts";
export { UserInputTool } from "./tools/user_input_tool.ts";
export { Toolbox } from "./tools/toolbox.ts";
export { ToolCollection } from "./tools/tool_collection.ts";
export { calculatorTool } from "./tools/calculator_tool.ts";
// Default tools (`addBaseTools`): web search, visit webpage, Wikipedia
export { baseTools } from "./tools/web/base_tools.ts";
export type { BaseToolsOptions } from "./tools/web/base_tools.ts";
export { WebSearchTool } from "./tools/web/web_search_tool.ts";
export type { SearchProviderName, WebSearchToolOptions } from "./tools/web/web_search_tool.ts";
export type { SearchProvider, SearchRequest, SearchResult } from "./tools/web/search_provider.ts";
export { VisitWebpageTool } from "./tools/web/visit_webpage_tool.ts";
export type { HtmlToMarkdown, VisitWebpageToolOptions } from "./tools/web/visit_webpage_tool.ts";
export { WikipediaSearchTool } from "./tools/web/wikipedia_search_tool.ts";
export type { WikipediaSearchToolOptions } from "./tools/web/wikipedia_search_tool.ts";
export type { WebToolOptions } from "./tools/web/web_request.ts";

// Agent types and blobs
export { AgentAudio, AgentImage, AgentText } from "./types/agent_types.ts";
export type { AgentType } from "./types/agent_values.ts";
export { BlobStore, MemoryBlobStore } from "./stores/blob_store.ts";
export type { BlobStorage } from "./stores/blob_store.ts";

// The state store interface (`BlobStore` keeps blobs in any store; stores themselves: `@smolstep/smolstep/server`,
// `@smolstep/smolstep/deno`, `@smolstep/smolstep/cloudflare`)
export type { PutOptions, PutResult, StateStore, StoredValue } from "./stores/state_store.ts";

// Model call observers (`StepOptions.modelObserver`)
export type { ModelCallOutcome, ModelObserver } from "./models/model_observer.ts";

// Egress (every server-side fetch of a URL from outside)
export { EgressError, guardedFetch } from "./net/egress.ts";
export type { EgressPolicy } from "./net/egress.ts";

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

export { VERSION } from "./version.ts";
