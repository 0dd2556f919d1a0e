/**
 * The shapes a step passes around, in one leaf module: it imports no other file of `lib/agents/` but the type-only
 * leaves `agent_events.ts` and `code_parsing.ts`'s tags, so any file can import it without closing a circle.
 */
import type { AgentError } from "../errors.ts";
import type { AgentState, PendingInput, SubRun } from "../memory/agent_state.ts";
import type { ActionStep, StepRecord } from "../memory/step_records.ts";
import type { GenerateOptions } from "../models/model.ts";
import type { ModelObserver } from "../models/model_observer.ts";
import type { ModelDelta } from "../models/stream_reply.ts";
import type { BlobStorage } from "../stores/blob_store.ts";
import type { Tool } from "../tools/tool.ts";
import type { StepSpans } from "../tracing/step_spans.ts";
import type { Context, TracerProvider } from "@opentelemetry/api";
import type { AgentEvent, DeltaEvent } from "./agent_events.ts";
import type { CodeBlockTags } from "./code_parsing.ts";

/** Options of one `step()` or `resume()`. */
export interface StepOptions {
  signal?: AbortSignal;
  /** Where media tool outputs and long texts are stored and referenced (a run's blobs); without it they stay inline. */
  blobs?: BlobStorage;
  /** Told about each model call of the step, managed agents' included (metrics). */
  modelObserver?: ModelObserver;
  /** The clock the step reads (timing, `updatedAt`), in epoch milliseconds; default `Date.now`. */
  now?: () => number;
  /**
   * Told each piece of the model's reply as it arrives (the model is called through `generateStream`; models
   * without it are called through `generate` and send none). The step's result is the same as without it.
   */
  onDelta?: (event: DeltaEvent) => void;
  /**
   * Where the step's spans go (`invoke_agent {agent}`, `chat {model}`, `execute_tool {tool}`); default: the global
   * provider of `@opentelemetry/api`, which records nothing until one is registered.
   */
  tracerProvider?: TracerProvider;
  /** The parent of the step's span (default: the active context). A managed agent's step nests under its manager's. */
  traceParent?: Context;
  /** The run the step belongs to, on its span as `smolstep.run.id` and `gen_ai.conversation.id` (KV runs). */
  runId?: string;
}

/** What one step may touch besides the state: the clock, the abort signal, the blob store, the metrics observer. */
export interface StepIO extends StepOptions {
  now: () => number;
  /** Starts the model and tool spans under the step's span. */
  spans?: StepSpans;
}

export interface StepResult {
  state: AgentState;
  /** Which agent took the step: this one, or a managed agent's path such as `manager/researcher`. */
  agent: string;
  /** The record this step produced (a run's closing `final_answer` record follows it in `state.steps`). */
  step: StepRecord;
  events: AgentEvent[];
}

/** What an agent kind's `act()` reads: the run as the model should see it (observations in full) and the step's io. */
export interface StepContext {
  state: AgentState;
  signal?: AbortSignal;
  /** Where media tool outputs are stored and referenced (a run store's blobs); without it bytes stay unstored. */
  blobs?: BlobStorage;
  /** Told about each model call of the step (pass it to `generate`). */
  modelObserver?: ModelObserver;
  /** Told the pieces of the model's reply as they stream (pass it to `generate`); bound to this step's number. */
  onDelta?: (piece: ModelDelta) => void;
  /** Starts the model and tool spans under the step's span (pass it to `generate` and to tool calls). */
  spans?: StepSpans;
}

/** What an agent's `generate` takes: the model's options, plus the step's observer, delta sink and spans. */
export type ModelCallOptions = GenerateOptions & {
  observer?: ModelObserver;
  onDelta?: (piece: ModelDelta) => void;
  spans?: StepSpans;
};

/** The fields of an action step an agent kind writes; the step adds its number, timing, error and final flag. */
export type ActionFields = Omit<ActionStep, "type" | "stepNumber" | "timing" | "error" | "isFinalAnswer">;

/** Sandbox variables to keep in the state after the step (CodeAgent); absent: the state's stay as they are. */
type Kept = { variables?: Record<string, unknown> };

/**
 * What an action did, as an agent kind's `act()` (and `resumeAction()`, `completeDelegation()`) returns it. The step
 * (`lib/agents/step.ts`) records `action` and acts on `kind`:
 * - `continue`: the run goes on; the observations are fed back to the model.
 * - `final`: `answer` is the run's answer, once the final-answer checks accept it (else it is recorded as an error).
 * - `pause`: the run waits (`awaiting_input`) for a tool approval or a person's answer; `resume()` completes the step.
 * - `delegate`: the managed agents `calls` name run one step per invocation; then `completeDelegation()`.
 * - `error`: the action failed (no tool call, unknown tool, bad arguments, a tool or the code threw); the error is
 *   recorded on the step, fed back to the model, and the run goes on.
 */
export type ActionOutcome =
  | ({ kind: "continue"; action: ActionFields } & Kept)
  | ({ kind: "final"; action: ActionFields; answer: unknown } & Kept)
  | { kind: "pause"; action: ActionFields; pending: PendingInput }
  | ({ kind: "delegate"; action: ActionFields; calls: ManagedCall[] } & Kept)
  | ({ kind: "error"; action: ActionFields; error: AgentError } & Kept);

/** A call of a managed agent made by an action step; its sub-run is stepped by later invocations. */
export interface ManagedCall {
  callId: string;
  agentName: string;
  task: string;
  additionalArgs?: Record<string, unknown>;
}

export type ManagedReport = SubRun["reports"][number];

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
  /**
   * The clock of the run (epoch milliseconds): `createdAt`/`updatedAt`, every step's timing (passed to each step as
   * `StepOptions.now`) and the run's timing. Default `Date.now`; a fixed clock makes a run's timing deterministic.
   */
  now?: () => number;
  /**
   * Where the run's spans go (`invoke_workflow {agent}` over its steps' `invoke_agent` spans); default: the global
   * provider of `@opentelemetry/api`, which records nothing until one is registered.
   */
  tracerProvider?: TracerProvider;
  /** The parent of the run's span (default: the active context). */
  traceParent?: Context;
}

/**
 * What a file needs of an agent when it needs no more than this: managed agents, the run loop, final-answer checks.
 * `MultiStepAgent` implements it.
 */
export interface Agent {
  readonly name: string;
  readonly description: string;
  /** The agent kind's name ("ToolCallingAgent", "CodeAgent"): the key `fromJSON` looks up in its `kinds`. */
  readonly kind: string;
  readonly maxSteps: number;
  readonly tools: ReadonlyMap<string, Tool>;
  /** The agents it can hand tasks to, by the name it calls them. */
  readonly managedAgents: ReadonlyMap<string, { readonly name: string; readonly agent: Agent }>;
  /** The state of the last `run()`. */
  lastState: AgentState | undefined;
  start(task: string, options?: RunOptions): AgentState;
  step(state: AgentState, options?: StepOptions): Promise<StepResult>;
  resume(state: AgentState, input: unknown, options?: StepOptions): Promise<StepResult>;
  toJSON(): AgentDefinition;
}

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
 * smolagents calls its `final_answer_checks`: `(answer, memory, agent)`. (Written as a method's type so that a check
 * declaring its third parameter as `MultiStepAgent` or a subclass is accepted.)
 */
export type FinalAnswerCheck = {
  check(
    answer: unknown,
    memory: { task: string; steps: StepRecord[] },
    agent: Agent,
  ): boolean | Promise<boolean>;
}["check"];

/**
 * An agent's definition as JSON (`agent.toJSON()`), to store, diff or send. It names tools and the model but holds
 * no code and no secrets: `fromJSON` gets the tools, the model and the executor from the caller.
 */
export interface AgentDefinition {
  kind: string;
  name: string;
  description: string;
  maxSteps: number;
  instructions?: string;
  systemPrompt?: string;
  planningInterval?: number;
  maxContextTokens?: number;
  maxObservationChars: number;
  /** Time limit of a tool call without its own (ms); absent in definitions written before it existed (60 s). */
  toolTimeoutMs?: number;
  /** Tool names (`final_answer` is implied). */
  tools: string[];
  /** The model's class and id; keys, URLs and headers are never included. */
  model: { class: string; modelId?: string };
  managedAgents: Array<{
    name: string;
    description: string;
    additionalPrompting?: string;
    provideRunSummary: boolean;
    agent: AgentDefinition;
  }>;
  /** CodeAgent only. */
  authorizedImports?: string[];
  codeBlockTags?: CodeBlockTags;
  oneShot?: boolean;
}
