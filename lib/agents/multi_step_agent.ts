import { AgentError, AgentGenerationError, AgentMaxStepsError, ConfigurationError, ModelError } from "../errors.ts";
import { type AgentState, parseAgentState, STATE_VERSION } from "../memory/agent_state.ts";
import { memoryToMessages } from "../memory/memory_to_messages.ts";
import {
  type ActionStep,
  type StepRecord,
  type TaskStep,
  timingSince,
  type TokenUsageRecord,
} from "../memory/step_records.ts";
import type { ChatMessage, TokenUsage } from "../models/chat_message.ts";
import { type GenerateOptions, type Model, toModel } from "../models/model.ts";
import { textOf } from "../models/chat_message.ts";
import type { Tool } from "../tools/tool.ts";
import { Toolbox } from "../tools/toolbox.ts";
import type { AgentEvent, RunResult } from "./agent_events.ts";
import {
  type AgentOptions,
  DEFAULT_MAX_OBSERVATION_CHARS,
  DEFAULT_MAX_STEPS,
  type FinalAnswerCheck,
  type RunOptions,
  type StepCallback,
  type StepCallbacks,
} from "./agent_options.ts";

/**
 * The part of an action step a subclass fills in; the base class adds numbering, timing and errors.
 * `variables`, when set, replaces the sandbox variables kept in the state (it is not part of the step record).
 */
export type ActionDraft = Omit<ActionStep, "type" | "stepNumber" | "timing" | "error"> & {
  variables?: Record<string, unknown>;
};

export function emptyDraft(): ActionDraft {
  return { modelOutput: null, toolCalls: [], observations: null, isFinalAnswer: false, tokenUsage: null };
}

export interface StepContext {
  state: AgentState;
  signal?: AbortSignal;
}

export interface StepResult {
  state: AgentState;
  /** The record this step produced (a run's closing `final_answer` record follows it in `state.steps`). */
  step: StepRecord;
  events: AgentEvent[];
}

/** Thrown by `step()` for a state it must not step (finished, or made for another agent). */
export class StepRefusedError extends Error {
  override name = "StepRefusedError";
}

function addUsage(total: TokenUsageRecord | null, usage: TokenUsage | null | undefined): TokenUsageRecord | null {
  if (!usage) return total;
  return {
    inputTokens: (total?.inputTokens ?? 0) + usage.inputTokens,
    outputTokens: (total?.outputTokens ?? 0) + usage.outputTokens,
  };
}

/**
 * The agent loop, one step at a time. A step reads a plain `AgentState`, calls the model once, acts, and returns
 * a new state with exactly one more step record; the input state is never modified. `run()` and `stream()` are
 * loops over `step()`.
 */
export abstract class MultiStepAgent {
  readonly name: string;
  readonly description: string;
  readonly model: Model;
  readonly toolbox: Toolbox;
  readonly maxSteps: number;
  readonly instructions: string | undefined;
  readonly maxObservationChars: number;
  protected readonly systemPromptTemplate: string | undefined;
  readonly #stepCallbacks: StepCallbacks;
  readonly #finalAnswerChecks: FinalAnswerCheck[];
  /** The state of the last `run()`, continued by `run(task, { reset: false })`. */
  lastState: AgentState | undefined;

  constructor(options: AgentOptions) {
    const model = options.model ?? options.llmEngine;
    if (!model) throw new ConfigurationError("An agent needs a `model` (or `llmEngine`).");
    this.model = toModel(model);
    this.name = options.name ?? "agent";
    this.description = options.description ?? "";
    this.toolbox = options.tools instanceof Toolbox ? options.tools : new Toolbox(options.tools ?? []);
    this.maxSteps = options.maxSteps ?? options.maxIterations ?? DEFAULT_MAX_STEPS;
    this.instructions = options.instructions;
    this.systemPromptTemplate = options.systemPrompt;
    this.maxObservationChars = options.maxObservationChars ?? DEFAULT_MAX_OBSERVATION_CHARS;
    this.#stepCallbacks = options.stepCallbacks ?? [];
    this.#finalAnswerChecks = options.finalAnswerChecks ?? [];
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(this.name)) {
      throw new ConfigurationError(`Agent name '${this.name}' must be letters, digits, '_' or '-'.`);
    }
    if (this.toolbox.get(this.name)) {
      throw new ConfigurationError(`Agent name '${this.name}' is also the name of one of its tools.`);
    }
  }

  /** Which agent class this is, for listings ("ToolCallingAgent", "CodeAgent"). */
  abstract get kind(): string;

  get tools(): ReadonlyMap<string, Tool> {
    return this.toolbox.tools;
  }

  /** The system prompt, with tools and instructions filled in. */
  abstract get systemPrompt(): string;

  /** Asks the model for the next action and performs it, filling in `draft`. Throw an `AgentError` to record one. */
  protected abstract actionStep(draft: ActionDraft, context: StepContext): Promise<void>;

  /** How additional arguments are announced in the task text. */
  protected describeAdditionalArgs(args: Record<string, unknown>): string {
    return `You have been provided with these additional arguments; pass an argument's name as a tool input to use its value:\n${
      JSON.stringify(args, null, 2)
    }`;
  }

  /** Creates the state of a new run (or continues `options.state` with a new task when `reset` is false). */
  start(task: string, options: RunOptions = {}): AgentState {
    const now = Date.now();
    const additionalArgs = options.additionalArgs ?? {};
    const text = Object.keys(additionalArgs).length > 0
      ? `${task}\n${this.describeAdditionalArgs(additionalArgs)}`
      : task;
    const taskStep: TaskStep = {
      type: "task",
      task: text,
      ...(options.images?.length ? { images: options.images } : {}),
    };
    const maxSteps = options.maxSteps ?? options.maxIterations ?? this.maxSteps;
    const previous = options.reset === false ? (options.state ?? this.lastState) : undefined;
    if (previous) {
      const state = parseAgentState(previous);
      return {
        ...state,
        task,
        status: "running",
        maxSteps,
        stepNumber: 0,
        steps: [...state.steps, taskStep],
        additionalArgs: { ...state.additionalArgs, ...additionalArgs },
        finalAnswer: undefined,
        error: null,
        updatedAt: now,
      };
    }
    return {
      version: STATE_VERSION,
      agentName: this.name,
      task,
      status: "running",
      maxSteps,
      stepNumber: 0,
      steps: [taskStep],
      additionalArgs,
      error: null,
      tokenUsage: null,
      createdAt: now,
      updatedAt: now,
    };
  }

  /** Renders the memory of `state` as the messages the model sees next. */
  writeMemoryToMessages(state: AgentState, options: { summaryMode?: boolean } = {}): ChatMessage[] {
    return memoryToMessages(state, this.systemPrompt, options);
  }

  /**
   * Runs exactly one step. Model failures throw `AgentGenerationError` (or `ConfigurationError`) and leave the
   * run as it was; errors of the action itself are recorded on the step and fed back to the model.
   */
  async step(state: AgentState, options: { signal?: AbortSignal } = {}): Promise<StepResult> {
    if (state.agentName !== this.name) {
      throw new StepRefusedError(`This state belongs to agent '${state.agentName}', not '${this.name}'.`);
    }
    if (state.status !== "running") throw new StepRefusedError(`The run has already ended (${state.status}).`);
    const startTime = Date.now();
    const stepNumber = state.stepNumber + 1;
    const outOfSteps = state.stepNumber >= state.maxSteps;
    const draft = emptyDraft();
    let error: AgentError | null = null;
    try {
      if (outOfSteps) await this.#answerAfterMaxSteps(draft, state, options.signal);
      else await this.actionStep(draft, { state, signal: options.signal });
    } catch (caught) {
      if (!(caught instanceof AgentError) || caught instanceof AgentGenerationError) throw caught;
      error = caught;
    }
    if (outOfSteps) error = new AgentMaxStepsError(`Reached max steps (${state.maxSteps}) without a final answer.`);
    else if (draft.isFinalAnswer && !error) error = await this.#checkFinalAnswer(draft.actionOutput, state);
    if (error && !outOfSteps) draft.isFinalAnswer = false;

    const { variables, ...fields } = draft;
    const record: ActionStep = {
      type: "action",
      stepNumber,
      ...fields,
      error: error ? error.toJSON() : null,
      timing: timingSince(startTime),
    };
    let next: AgentState = {
      ...state,
      ...(variables ? { variables } : {}),
      steps: [...state.steps, record],
      stepNumber: outOfSteps ? state.stepNumber : stepNumber,
      tokenUsage: addUsage(state.tokenUsage, record.tokenUsage),
      updatedAt: Date.now(),
    };
    if (record.isFinalAnswer) {
      next = {
        ...next,
        steps: [...next.steps, { type: "final_answer", output: record.actionOutput }],
        status: outOfSteps ? "max_steps_error" : "succeeded",
        finalAnswer: record.actionOutput,
      };
      if (outOfSteps) next.error = record.error;
    }
    next = await this.#runCallbacks(record, next);
    const events: AgentEvent[] = [{ type: "step", agent: this.name, step: record }];
    if (next.status !== "running") {
      events.push({ type: "final_answer", agent: this.name, status: next.status, output: next.finalAnswer ?? null });
    }
    return { state: next, step: record, events };
  }

  /** Returns the code the model writes for `task` without running it; only code agents can. */
  generateCode(_task: string, _options: RunOptions = {}): Promise<string> {
    return Promise.reject(
      new ConfigurationError(`${this.kind} does not write code; returnGeneratedCode needs a CodeAgent.`),
    );
  }

  /** Calls the model, adding its token usage to `draft`; wraps failures as `AgentGenerationError`. */
  protected async generate(
    messages: ChatMessage[],
    options: GenerateOptions,
    draft: ActionDraft,
  ): Promise<ChatMessage> {
    let reply: ChatMessage;
    try {
      reply = await this.model.generate(messages, options);
    } catch (caught) {
      if (caught instanceof ConfigurationError) throw caught;
      const retryable = caught instanceof ModelError ? caught.retryable : !(caught instanceof AgentError);
      const message = caught instanceof Error ? caught.message : String(caught);
      throw new AgentGenerationError(`Error while generating output: ${message}`, { cause: caught, retryable });
    }
    draft.tokenUsage = addUsage(draft.tokenUsage, reply.tokenUsage);
    return reply;
  }

  async #answerAfterMaxSteps(draft: ActionDraft, state: AgentState, signal?: AbortSignal): Promise<void> {
    const messages: ChatMessage[] = [
      {
        role: "system",
        content:
          "An assistant worked on the user's task below but used up its steps before giving an answer. Its notes, tool calls and observations follow. Give the best final answer you can from them.",
      },
      ...memoryToMessages(state, this.systemPrompt).slice(1),
      { role: "user", content: `Using everything above, answer this task now:\n${state.task}` },
    ];
    const reply = await this.generate(messages, { signal }, draft);
    draft.modelOutput = textOf(reply.content);
    draft.actionOutput = draft.modelOutput;
    draft.isFinalAnswer = true;
  }

  async #checkFinalAnswer(answer: unknown, state: AgentState): Promise<AgentError | null> {
    for (const [index, check] of this.#finalAnswerChecks.entries()) {
      const label = check.name || `#${index + 1}`;
      try {
        if (await check(answer, { task: state.task, steps: state.steps })) continue;
        return new AgentError(`Final answer check '${label}' failed for answer ${JSON.stringify(answer)}.`);
      } catch (caught) {
        const message = caught instanceof Error ? caught.message : String(caught);
        return new AgentError(`Final answer check '${label}' failed: ${message}`);
      }
    }
    return null;
  }

  async #runCallbacks(record: StepRecord, state: AgentState): Promise<AgentState> {
    const callbacks: StepCallback[] = Array.isArray(this.#stepCallbacks)
      ? this.#stepCallbacks
      : this.#stepCallbacks[record.type] ?? [];
    let interrupted: string | undefined;
    for (const callback of callbacks) {
      await callback(record, {
        state,
        agentName: this.name,
        interrupt: (reason) => interrupted = reason ?? "interrupted by a step callback",
      });
    }
    if (interrupted === undefined || state.status !== "running") return state;
    return { ...state, status: "failed", error: { type: "AgentInterruptedError", message: interrupted } };
  }

  /** Steps a run until it ends, yielding every event; returns the final state. */
  async *stream(task: string, options: RunOptions = {}): AsyncGenerator<AgentEvent, AgentState> {
    let state = this.start(task, options);
    this.lastState = state;
    while (state.status === "running") {
      options.signal?.throwIfAborted();
      try {
        const result = await this.step(state, { signal: options.signal });
        state = result.state;
        yield* result.events;
      } catch (caught) {
        if (!(caught instanceof AgentGenerationError)) throw caught;
        state = { ...state, status: "failed", error: caught.toJSON(), updatedAt: Date.now() };
        yield { type: "final_answer", agent: this.name, status: "failed", output: null };
      } finally {
        this.lastState = state;
      }
    }
    return state;
  }

  /**
   * Runs the task to the end and returns the final answer (`returnFullResult` gives a `RunResult`), or, with
   * `stream: true`, an async iterator of events. A model failure ends the run with status `failed` and throws.
   */
  run(task: string, options: RunOptions & { stream: true }): AsyncGenerator<AgentEvent, AgentState>;
  run(task: string, options: RunOptions & { returnFullResult: true; stream?: false }): Promise<RunResult>;
  run(task: string, options?: RunOptions & { stream?: false; returnFullResult?: false }): Promise<unknown>;
  run(
    task: string,
    options: RunOptions & { stream?: boolean; returnFullResult?: boolean } = {},
  ): AsyncGenerator<AgentEvent, AgentState> | Promise<unknown> {
    if (options.stream) return this.stream(task, options);
    if (options.returnGeneratedCode) return this.generateCode(task, options);
    return this.#runToEnd(task, options);
  }

  async #runToEnd(task: string, options: RunOptions & { returnFullResult?: boolean }): Promise<unknown> {
    const startTime = Date.now();
    const events = this.stream(task, options);
    let next = await events.next();
    while (!next.done) next = await events.next();
    const state = next.value;
    if (options.returnFullResult) {
      return {
        output: state.finalAnswer ?? null,
        state: state.status === "succeeded"
          ? "success"
          : state.status === "max_steps_error"
          ? "max_steps_error"
          : "failed",
        steps: state.steps,
        tokenUsage: state.tokenUsage,
        timing: timingSince(startTime),
        error: state.error,
      } satisfies RunResult;
    }
    if (state.status === "failed") {
      const message = state.error?.message ?? "The run failed.";
      throw state.error?.type === "AgentGenerationError" ? new AgentGenerationError(message) : new AgentError(message);
    }
    return state.finalAnswer;
  }
}
