import type { ModelLike } from "../models/model.ts";
import type { Tool } from "../tools/tool.ts";
import type { Toolbox } from "../tools/toolbox.ts";
import type { BaseToolsOptions } from "../tools/web/base_tools.ts";
import type { ManagedAgent } from "./managed_agent.ts";
import type { Agent, FinalAnswerCheck, StepCallbacks } from "./step_types.ts";

export type { FinalAnswerCheck, RunOptions, StepCallback, StepCallbackContext, StepCallbacks } from "./step_types.ts";

/** Options shared by every agent; names follow smolagents (camelCase), with transformers-agents aliases. */
export interface AgentOptions {
  model?: ModelLike;
  /** transformers-agents' name for `model`. */
  llmEngine?: ModelLike;
  tools?: Tool[] | Toolbox;
  /**
   * Adds the base tools (smolagents' and transformers-agents' `add_base_tools`): `web_search`, `visit_webpage`,
   * `wikipedia_search`, `speech_to_text` when one is given, and for a ToolCallingAgent `calculator` and
   * `user_input` (see `baseTools`). `true` for the defaults, or their options (provider, keys, base URLs, egress).
   * A tool of yours with the same name is kept instead of the base one.
   */
  addBaseTools?: boolean | BaseToolsOptions;
  /** Identifier used in routes, states and managed-agent calls (default "agent"). */
  name?: string;
  description?: string;
  /** Default 20. */
  maxSteps?: number;
  /** transformers-agents' name for `maxSteps`. */
  maxIterations?: number;
  /** Extra guidance appended to the system prompt. */
  instructions?: string;
  /** Replaces the whole system prompt template (`{{tool_descriptions}}`, `{{instructions}}` are filled in). */
  systemPrompt?: string;
  stepCallbacks?: StepCallbacks;
  finalAnswerChecks?: FinalAnswerCheck[];
  /** Observations longer than this are cut in the middle (default 20,000 characters). */
  maxObservationChars?: number;
  /** Agents this one can hand tasks to, like tools (`ManagedAgent` wrappers, or agents with a name and description). */
  managedAgents?: Array<ManagedAgent | Agent>;
  /** A planning step before action step 1 and then every `planningInterval` steps (1, 1+k, 1+2k ...). */
  planningInterval?: number;
  /**
   * Context budget (estimated tokens) for what the model is shown each step. Past it, older action steps are
   * condensed; the system prompt, the tasks, the latest plan and the latest steps stay verbatim. Default: no budget.
   */
  maxContextTokens?: number;
  /**
   * Observations longer than this (characters) are stored in the run's blob store and kept in the state as a
   * preview plus a reference; the model still reads them in full (default 4,000; only where a store is given).
   */
  largeObservationChars?: number;
  /**
   * Time limit of one tool call in milliseconds, for tools that set no `timeoutMs` of their own (default 60,000).
   * Past it the tool's signal aborts and the model sees a timeout error; the step goes on. Applies to tool calls
   * from CodeAgent code too. Keep it under the server's `lockTtlMs`.
   */
  toolTimeoutMs?: number;
  /** `run()` returns a `RunResult` (answer, state, steps, token usage, timing) instead of the bare answer, unless the
   * call says otherwise (smolagents' `return_full_result`; default false). */
  returnFullResult?: boolean;
}

export const DEFAULT_MAX_STEPS = 20;
export const DEFAULT_MAX_OBSERVATION_CHARS = 20_000;
