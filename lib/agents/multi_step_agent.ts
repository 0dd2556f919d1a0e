import { AgentError, AgentGenerationError, AgentMaxStepsError, ConfigurationError } from "../errors.ts";
import type { AgentState, PendingInput } from "../memory/agent_state.ts";
import { maxStepsAnswerMessages, memoryToMessages } from "../memory/memory_to_messages.ts";
import { boundedMemoryToMessages } from "../memory/bounded_memory.ts";
import type { ActionStep, StepRecord } from "../memory/step_records.ts";
import { type ChatMessage, textOf } from "../models/chat_message.ts";
import { type GenerateOptions, type Model, toModel } from "../models/model.ts";
import type { ModelObserver } from "../models/model_observer.ts";
import type { Tool } from "../tools/tool.ts";
import { Toolbox } from "../tools/toolbox.ts";
import { checkTimeoutMs, DEFAULT_TOOL_TIMEOUT_MS } from "../tools/tool_time_limit.ts";
import type { BlobStorage } from "../stores/blob_store.ts";
import type { AgentEvent, RunResult } from "./agent_events.ts";
import { runToEnd, streamRun } from "./run_loop.ts";
import { createRunState } from "./run_state.ts";
import { recordActionStep, type RecordPosition } from "./record_step.ts";
import { type AgentDefinition, type AgentDependencies, agentFromJSON, agentToJSON } from "./agent_definition.ts";
import { formatReplay } from "../memory/replay.ts";
import {
  externalizeActionOutput,
  externalizeFinalAnswer,
  externalizeLongFields,
  externalizeObservation,
  hydrateObservations,
  TRUNCATED_CHARS,
  truncateWithMarker,
} from "../memory/large_observations.ts";
import { addUsage, callModel } from "./step_hooks.ts";
import { collectManagedAgents, type ManagedAgent } from "./managed_agent.ts";
import { needsPlanning, planningStepResult } from "./planning_step.ts";
import { afterSubRunStep, type ManagedCall, type ManagedReport } from "./sub_runs.ts";
import {
  type AgentOptions,
  DEFAULT_MAX_OBSERVATION_CHARS,
  DEFAULT_MAX_STEPS,
  type FinalAnswerCheck,
  type RunOptions,
  type StepCallbacks,
} from "./agent_options.ts";

/**
 * The part of an action step a subclass fills in; the base class adds numbering, timing and errors.
 * `variables`, when set, replaces the sandbox variables kept in the state (it is not part of the step record).
 */
export type ActionDraft = Omit<ActionStep, "type" | "stepNumber" | "timing" | "error"> & {
  variables?: Record<string, unknown>;
  /** Set to pause the run (status `awaiting_input`) until `resume()` gets a decision or an answer. */
  pendingInput?: PendingInput;
  /** Managed agents this step called: their sub-runs are stepped by the next invocations, then this step completes. */
  managedCalls?: ManagedCall[];
};

export function emptyDraft(): ActionDraft {
  return { modelOutput: null, toolCalls: [], observations: null, isFinalAnswer: false, tokenUsage: null };
}

export interface StepContext {
  state: AgentState;
  signal?: AbortSignal;
  /** Where media tool outputs are stored and referenced (a run store's blobs); without it bytes stay unstored. */
  blobs?: BlobStorage;
  /** Told about each model call of the step (pass it to `generate`). */
  modelObserver?: ModelObserver;
}

export interface StepOptions {
  signal?: AbortSignal;
  blobs?: BlobStorage;
  /** Told about each model call of the step, managed agents' included (metrics). */
  modelObserver?: ModelObserver;
}

export interface StepResult {
  state: AgentState;
  /** Which agent took the step: this one, or a managed agent's path such as `manager/researcher`. */
  agent: string;
  /** The record this step produced (a run's closing `final_answer` record follows it in `state.steps`). */
  step: StepRecord;
  events: AgentEvent[];
}

/** Thrown by `step()` for a state it must not step (finished, or made for another agent). */
export class StepRefusedError extends Error {
  override name = "StepRefusedError";
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
  /** Managed agents by the name this agent calls them. */
  readonly managedAgents: ReadonlyMap<string, ManagedAgent>;
  readonly planningInterval: number | undefined;
  readonly maxContextTokens: number | undefined;
  readonly largeObservationChars: number;
  /** Time limit of a tool call, for tools without their own `timeoutMs`. */
  readonly toolTimeoutMs: number;
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
    this.planningInterval = options.planningInterval;
    this.maxContextTokens = options.maxContextTokens;
    this.largeObservationChars = options.largeObservationChars ?? 4_000;
    this.toolTimeoutMs = checkTimeoutMs(options.toolTimeoutMs, "toolTimeoutMs") ?? DEFAULT_TOOL_TIMEOUT_MS;
    this.managedAgents = collectManagedAgents(
      options.managedAgents ?? [],
      (name) => name === this.name || this.toolbox.get(name) !== undefined,
    );
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
    const additionalArgs = options.additionalArgs ?? {};
    return createRunState({
      agentName: this.name,
      task,
      taskText: Object.keys(additionalArgs).length > 0
        ? `${task}\n${this.describeAdditionalArgs(additionalArgs)}`
        : task,
      images: options.images,
      additionalArgs,
      maxSteps: options.maxSteps ?? options.maxIterations ?? this.maxSteps,
      previous: options.reset === false ? (options.state ?? this.lastState) : undefined,
    });
  }

  /** Renders the memory of `state` as the messages the model sees next. */
  writeMemoryToMessages(state: AgentState, options: { summaryMode?: boolean } = {}): ChatMessage[] {
    if (this.maxContextTokens && !options.summaryMode) {
      return boundedMemoryToMessages(state, this.#stableSystemPrompt(), this.maxContextTokens);
    }
    return memoryToMessages(state, this.#stableSystemPrompt(), options);
  }

  #lastSystemPrompt = "";

  /**
   * `systemPrompt`, as the same string object while its text is unchanged: the prompt is rebuilt on every read (tools
   * may change), but a step that keeps the previous string alive allocates nothing that outlives the model call.
   */
  #stableSystemPrompt(): string {
    const prompt = this.systemPrompt;
    if (prompt !== this.#lastSystemPrompt) this.#lastSystemPrompt = prompt;
    return this.#lastSystemPrompt;
  }

  /**
   * Runs exactly one step. Model failures throw `AgentGenerationError` (or `ConfigurationError`) and leave the
   * run as it was; errors of the action itself are recorded on the step and fed back to the model.
   */
  async step(state: AgentState, options: StepOptions = {}): Promise<StepResult> {
    this.#assertOwn(state);
    if (state.subRun) {
      return await this.#stepSubRun(state, (agent, child) => agent.step(child, options), options.blobs);
    }
    if (state.status !== "running") throw new StepRefusedError(`The run has already ended (${state.status}).`);
    // What the model reads: referenced observations in full again. The record is appended to `state` itself.
    const view = await hydrateObservations(state, options.blobs);
    if (needsPlanning(state, this.planningInterval)) return await this.#plan(state, view, options);
    const startTime = Date.now();
    const stepNumber = state.stepNumber + 1;
    const outOfSteps = state.stepNumber >= state.maxSteps;
    const draft = emptyDraft();
    let error: AgentError | null = null;
    try {
      if (outOfSteps) await this.#answerAfterMaxSteps(draft, view, options);
      else await this.actionStep(draft, { ...options, state: view });
    } catch (caught) {
      if (!(caught instanceof AgentError) || caught instanceof AgentGenerationError) throw caught;
      error = caught;
    }
    if (outOfSteps) error = new AgentMaxStepsError(`Reached max steps (${state.maxSteps}) without a final answer.`);
    return await this.#record(state, draft, error, {
      index: state.steps.length,
      replace: 0,
      startTime,
      stepNumber,
      outOfSteps,
    }, options.blobs);
  }

  /**
   * Gives a paused run (`awaiting_input`) what it waits for, completing its last action step: `{approve, reason?}`
   * for tool calls that need approval, `{answer}` for a `user_input` question. Atomic like `step()`.
   */
  async resume(state: AgentState, input: unknown, options: StepOptions = {}): Promise<StepResult> {
    this.#assertOwn(state);
    if (state.subRun) {
      return await this.#stepSubRun(state, (agent, child) => agent.resume(child, input, options), options.blobs);
    }
    if (state.status !== "awaiting_input" || !state.pendingInput) {
      throw new StepRefusedError(`The run is '${state.status}', not waiting for input.`);
    }
    const index = state.steps.findLastIndex((step) => step.type === "action");
    const paused = state.steps[index] as ActionStep;
    const { type: _type, stepNumber, timing, error: _error, ...fields } = paused;
    const draft: ActionDraft = { ...fields, observations: null, observationsRef: undefined, isFinalAnswer: false };
    let error: AgentError | null = null;
    try {
      await this.completePendingInput(draft, state.pendingInput, input, { state, ...options });
    } catch (caught) {
      if (!(caught instanceof AgentError) || caught instanceof AgentGenerationError) throw caught;
      error = caught;
    }
    return await this.#record(state, draft, error, {
      index,
      replace: 1,
      startTime: timing.startTime,
      stepNumber,
      outOfSteps: false,
    }, options.blobs);
  }

  #assertOwn(state: AgentState): void {
    if (state.agentName === this.name) return;
    throw new StepRefusedError(`This state belongs to agent '${state.agentName}', not '${this.name}'.`);
  }

  /** Completes an action step that paused for input; agents that never pause do not override it. */
  protected completePendingInput(
    _draft: ActionDraft,
    _pending: PendingInput,
    _input: unknown,
    _context: StepContext,
  ): Promise<void> {
    return Promise.reject(new ConfigurationError(`${this.kind} does not pause for input.`));
  }

  /** Turns a finished draft into the step record and the next state (final answer, pause, callbacks, events). */
  async #record(
    state: AgentState,
    draft: ActionDraft,
    error: AgentError | null,
    at: RecordPosition,
    blobs?: BlobStorage,
  ): Promise<StepResult> {
    const stored = await externalizeObservation(draft.observations, blobs, this.largeObservationChars);
    if (stored) Object.assign(draft, stored);
    if (!draft.isFinalAnswer && draft.actionOutput !== undefined) {
      draft.actionOutput = await externalizeActionOutput(draft.actionOutput, blobs, this.largeObservationChars);
    }
    await externalizeLongFields(draft, blobs, this.largeObservationChars);
    // Error messages come from code and tools (a thrown 1 MB string): keep them bounded too.
    if (error) error.message = truncateWithMarker(error.message, this.largeObservationChars);
    const result = await recordActionStep(state, draft, error, at, {
      agentName: this.name,
      self: this,
      finalAnswerChecks: this.#finalAnswerChecks,
      stepCallbacks: this.#stepCallbacks,
      managedAgents: this.managedAgents,
    });
    return await externalizeFinalAnswer(result, blobs, this.largeObservationChars);
  }

  /** A planning step of its own: the initial plan, or an update every `planningInterval` steps. */
  #plan(state: AgentState, view: AgentState, { signal, modelObserver }: StepOptions): Promise<StepResult> {
    const draft = emptyDraft();
    return planningStepResult(state, view, {
      agentName: this.name,
      stepCallbacks: this.#stepCallbacks,
      memory: (current) =>
        this.maxContextTokens
          ? this.writeMemoryToMessages(current)
          : memoryToMessages(current, this.systemPrompt, { summaryMode: true }),
      toolDescriptions: this.toolbox.showToolDescriptions(),
      // A plan is kept twice (plan and reply) and never stored by reference: cut a runaway reply with a marker.
      generate: async (messages, stopSequences) => {
        const reply = await this.generate(messages, { stopSequences, signal, observer: modelObserver }, draft);
        return { ...reply, content: truncateWithMarker(textOf(reply.content), TRUNCATED_CHARS) };
      },
    });
  }

  /**
   * One step of the innermost active managed agent. When the sub-run (and any further managed call of the same
   * step) has answered, the manager's waiting action step is completed with the reports in the same invocation.
   */
  async #stepSubRun(
    state: AgentState,
    advance: (agent: MultiStepAgent, child: AgentState) => Promise<StepResult>,
    blobs?: BlobStorage,
  ): Promise<StepResult> {
    const subRun = state.subRun!;
    const managed = this.managedAgents.get(subRun.agentName);
    if (!managed) throw new StepRefusedError(`This run waits on an unknown managed agent '${subRun.agentName}'.`);
    const result = await advance(managed.agent, subRun.state);
    const after = afterSubRunStep(this.managedAgents, subRun, result.state);
    const usage = result.step.type === "task" || result.step.type === "final_answer" ? null : result.step.tokenUsage;
    const agent = `${this.name}/${result.agent}`;
    const childPaused = after.subRun?.state.status === "awaiting_input" ? after.subRun.state.pendingInput : undefined;
    const next: AgentState = {
      ...state,
      subRun: after.subRun,
      status: childPaused ? "awaiting_input" : "running",
      pendingInput: childPaused,
      tokenUsage: addUsage(state.tokenUsage, usage),
      updatedAt: Date.now(),
    };
    if (!after.reports) return { state: next, step: result.step, agent, events: result.events };

    const index = next.steps.findLastIndex((step) => step.type === "action");
    // The waiting step's own observation in full (it may be a stored preview), before the reports are added.
    const waiting = (await hydrateObservations(next, blobs)).steps[index] as ActionStep;
    const { type: _type, stepNumber, timing, error: _error, observationsRef: _ref, storedFields: _s, ...fields } =
      waiting;
    const draft: ActionDraft = { ...fields };
    this.completeManagedCalls(draft, after.reports, next);
    const completed = await this.#record(next, draft, null, {
      index,
      replace: 1,
      startTime: timing.startTime,
      stepNumber,
      outOfSteps: false,
    }, blobs);
    return { ...completed, step: result.step, agent, events: [...result.events, ...completed.events] };
  }

  /** Adds the managed agents' reports to the waiting step's observations (CodeAgent also keeps them as variables). */
  protected completeManagedCalls(draft: ActionDraft, reports: ManagedReport[], _state: AgentState): void {
    const text = reports.map((report) => report.text).join("\n\n");
    draft.observations = draft.observations ? `${draft.observations}\n\n${text}` : text;
    draft.actionOutput = reports.length === 1 ? reports[0].answer : reports.map((report) => report.answer);
  }

  /** Returns the code the model writes for `task` without running it; only code agents can. */
  generateCode(_task: string, _options: RunOptions = {}): Promise<string> {
    return Promise.reject(
      new ConfigurationError(`${this.kind} does not write code; returnGeneratedCode needs a CodeAgent.`),
    );
  }

  /**
   * Calls the model, adding its token usage to `draft`; wraps failures as `AgentGenerationError`. `observer` (the
   * step's `modelObserver`) is told how the call went; it is not passed to the model.
   */
  protected async generate(
    messages: ChatMessage[],
    { observer, ...options }: GenerateOptions & { observer?: ModelObserver },
    draft: ActionDraft,
  ): Promise<ChatMessage> {
    const reply = await callModel(this.model, messages, options, observer);
    draft.tokenUsage = addUsage(draft.tokenUsage, reply.tokenUsage);
    return reply;
  }

  async #answerAfterMaxSteps(draft: ActionDraft, state: AgentState, options: StepOptions): Promise<void> {
    const messages = maxStepsAnswerMessages(state, this.systemPrompt);
    const reply = await this.generate(messages, { signal: options.signal, observer: options.modelObserver }, draft);
    draft.modelOutput = textOf(reply.content);
    draft.actionOutput = draft.modelOutput;
    draft.isFinalAnswer = true;
  }

  /** A readable log of a run (the last `run()`'s by default), printed with `log` and returned. */
  replay(state: AgentState | undefined = this.lastState, log: (text: string) => void = console.log): string {
    if (!state) throw new StepRefusedError("Nothing to replay: run the agent first or pass a state.");
    const text = formatReplay(state);
    log(text);
    return text;
  }

  /** The agent's definition as JSON: settings, tool names, the model's class and id, managed agents. No secrets. */
  toJSON(): AgentDefinition {
    return agentToJSON(this, { systemPrompt: this.systemPromptTemplate, ...this.definitionExtras() });
  }

  /** Fields of a subclass's definition (CodeAgent: imports, tags, one-shot). */
  protected definitionExtras(): Partial<AgentDefinition> {
    return {};
  }

  /** Rebuilds an agent from `toJSON()`'s output, with tools, model and executor supplied by the caller. */
  static fromJSON(definition: AgentDefinition, dependencies: AgentDependencies): MultiStepAgent {
    return agentFromJSON(definition, dependencies);
  }

  /** Steps a run until it ends (or pauses without `onInput`), yielding every event; returns the final state. */
  stream(task: string, options: RunOptions = {}): AsyncGenerator<AgentEvent, AgentState> {
    return streamRun(this, task, options);
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
    return runToEnd(this, task, options);
  }
}
