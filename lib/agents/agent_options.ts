import type { AgentState, PendingInput } from "../memory/agent_state.ts";
import type { StepRecord } from "../memory/step_records.ts";
import type { ModelLike } from "../models/model.ts";
import type { Tool } from "../tools/tool.ts";
import type { Toolbox } from "../tools/toolbox.ts";
import type { ManagedAgent } from "./managed_agent.ts";
import type { MultiStepAgent } from "./multi_step_agent.ts";

/**
 * Given to step callbacks. `interrupt()` ends the run after this step (status `failed`; the reason defaults to
 * smolagents' "Agent interrupted.").
 */
export interface StepCallbackContext {
  state: AgentState;
  agentName: string;
  interrupt(reason?: string): void;
}

export type StepCallback = (step: StepRecord, context: StepCallbackContext) => void | Promise<void>;

/**
 * As in smolagents: a list is called after each action step; per step type (`{ action: [...], planning: [...],
 * final_answer: [...] }`) each list is called for its type, `final_answer` once with the run's final answer step.
 */
export type StepCallbacks =
  | StepCallback[]
  | Partial<Record<StepRecord["type"], StepCallback[]>>;

/**
 * Returns false (or throws) to reject a final answer; the run then goes on with the failure as an error. Called as
 * smolagents calls its `final_answer_checks`: `(answer, memory, agent)`.
 */
export type FinalAnswerCheck = (
  answer: unknown,
  memory: { task: string; steps: StepRecord[] },
  agent: MultiStepAgent,
) => boolean | Promise<boolean>;

/** Options shared by every agent; names follow smolagents (camelCase), with transformers-agents aliases. */
export interface AgentOptions {
  model?: ModelLike;
  /** transformers-agents' name for `model`. */
  llmEngine?: ModelLike;
  tools?: Tool[] | Toolbox;
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
  managedAgents?: Array<ManagedAgent | MultiStepAgent>;
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
}

export const DEFAULT_MAX_STEPS = 20;
export const DEFAULT_MAX_OBSERVATION_CHARS = 20_000;

/** Options of one `run()` / `start()`. */
export interface RunOptions {
  /** Start fresh (default) or continue the memory of `state` (or the agent's last run) with a new task. */
  reset?: boolean;
  /** The state to continue when `reset` is false. */
  state?: AgentState;
  maxSteps?: number;
  maxIterations?: number;
  /** Values the agent can use; listed in the task text, and substituted for tool arguments that name them. */
  additionalArgs?: Record<string, unknown>;
  /** Image URLs (https: or data:) given with the task. */
  images?: string[];
  signal?: AbortSignal;
  /** CodeAgent only (transformers-agents): ask the model for the program and return its code without running it. */
  returnGeneratedCode?: boolean;
  /**
   * Answers a run that pauses for input (tool approval, `user_input`): return `{approve: true}`, `{approve: false,
   * reason}` or `{answer}`. Without it, `run()` stops at `awaiting_input`.
   */
  onInput?: (pending: PendingInput, state: AgentState) => unknown | Promise<unknown>;
}
