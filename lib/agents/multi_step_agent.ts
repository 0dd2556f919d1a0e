import { ConfigurationError } from "../errors.ts";
import type { AgentState, PendingInput } from "../memory/agent_state.ts";
import { memoryToMessages } from "../memory/memory_to_messages.ts";
import { boundedMemoryToMessages } from "../memory/bounded_memory.ts";
import type { ChatMessage } from "../models/chat_message.ts";
import { type Model, toModel } from "../models/model.ts";
import type { Tool } from "../tools/tool.ts";
import { Toolbox } from "../tools/toolbox.ts";
import { baseTools } from "../tools/web/base_tools.ts";
import { checkTimeoutMs, DEFAULT_TOOL_TIMEOUT_MS } from "../tools/tool_time_limit.ts";
import type { AgentEvent, RunResult } from "./agent_events.ts";
import { runToEnd, streamRun } from "./run_loop.ts";
import { createRunState } from "./run_state.ts";
import { type AgentDependencies, agentFromDefinition, type AgentKinds, agentToJSON } from "./agent_definition.ts";
import { formatReplay } from "../memory/replay.ts";
import { callModel } from "./step_hooks.ts";
import { collectManagedAgents, type ManagedAgent } from "./managed_agent.ts";
import { teamDescriptions } from "./planning_step.ts";
import { step as takeStep, StepRefusedError, type StepSpec } from "./step.ts";
import { tracedStep } from "./step_span.ts";
import type {
  ActionFields,
  ActionOutcome,
  Agent,
  AgentDefinition,
  ManagedReport,
  ModelCallOptions,
  StepContext,
  StepOptions,
  StepResult,
} from "./step_types.ts";
import {
  type AgentOptions,
  DEFAULT_MAX_OBSERVATION_CHARS,
  DEFAULT_MAX_STEPS,
  type RunOptions,
} from "./agent_options.ts";

export { type StepRefusedCode, StepRefusedError } from "./step.ts";
export type { ActionFields, ActionOutcome, StepContext, StepOptions, StepResult } from "./step_types.ts";

/**
 * The agent loop, one step at a time. A step reads a plain `AgentState`, calls the model once, acts, and returns
 * a new state with exactly one more step record; the input state is never modified. `step()` and `resume()` hand
 * the state to `step()` of `lib/agents/step.ts`; `run()` and `stream()` are loops over them (`run_loop.ts`). An
 * agent kind (ToolCallingAgent, CodeAgent, your own) implements `act()`, returning an `ActionOutcome`.
 */
export abstract class MultiStepAgent implements Agent {
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
  /** `run()`'s default for `returnFullResult`. */
  readonly returnFullResult: boolean;
  protected readonly systemPromptTemplate: string | undefined;
  /** What `step()` needs of this agent (`lib/agents/step.ts`); built once, reads the agent lazily. */
  readonly #spec: StepSpec;
  /** The state of the last `run()`, continued by `run(task, { reset: false })`. */
  lastState: AgentState | undefined;

  constructor(options: AgentOptions) {
    const model = options.model ?? options.llmEngine;
    if (!model) throw new ConfigurationError("An agent needs a `model` (or `llmEngine`).");
    this.model = toModel(model);
    this.name = options.name ?? "agent";
    this.description = options.description ?? "";
    this.toolbox = options.tools instanceof Toolbox ? options.tools : new Toolbox(options.tools ?? []);
    if (options.addBaseTools) {
      // `kind` is a getter of the subclass's prototype, so it is readable here.
      const kind = (this as { kind: string }).kind;
      for (const tool of baseTools(kind, options.addBaseTools)) {
        if (!this.toolbox.get(tool.name)) this.toolbox.addTool(tool);
      }
    }
    this.maxSteps = options.maxSteps ?? options.maxIterations ?? DEFAULT_MAX_STEPS;
    this.instructions = options.instructions;
    this.systemPromptTemplate = options.systemPrompt;
    this.maxObservationChars = options.maxObservationChars ?? DEFAULT_MAX_OBSERVATION_CHARS;
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
    this.returnFullResult = options.returnFullResult ?? false;
    this.managedAgents = collectManagedAgents(
      options.managedAgents ?? [],
      (name) => name === this.name || this.toolbox.get(name) !== undefined,
    );
    this.#spec = this.#stepSpec(options.stepCallbacks ?? [], options.finalAnswerChecks ?? []);
  }

  #stepSpec(stepCallbacks: StepSpec["stepCallbacks"], finalAnswerChecks: StepSpec["finalAnswerChecks"]): StepSpec {
    return {
      name: this.name,
      agent: this,
      planningInterval: this.planningInterval,
      largeObservationChars: this.largeObservationChars,
      managedAgents: this.managedAgents,
      stepCallbacks,
      finalAnswerChecks,
      generate: (messages, options) => this.generate(messages, options),
      systemPrompt: () => this.systemPrompt,
      planningMemory: (state) =>
        this.maxContextTokens
          ? this.writeMemoryToMessages(state)
          : memoryToMessages(state, this.systemPrompt, { summaryMode: true }),
      toolDescriptions: () => this.toolbox.showToolDescriptions() + teamDescriptions(this.managedAgents),
      act: (context) => this.act(context),
      resumeAction: (paused, pending, input, context) => this.resumeAction(paused, pending, input, context),
      completeDelegation: (waiting, reports, state) => this.completeDelegation(waiting, reports, state),
    };
  }

  /** Which agent class this is, for listings ("ToolCallingAgent", "CodeAgent"). */
  abstract get kind(): string;

  get tools(): ReadonlyMap<string, Tool> {
    return this.toolbox.tools;
  }

  /** The system prompt, with tools and instructions filled in. */
  abstract get systemPrompt(): string;

  /**
   * The agent kind's action: asks the model for the next action, performs it and says what happened (see
   * `ActionOutcome`). An `AgentError` thrown instead is recorded as an `error` outcome without the reply's fields.
   */
  protected abstract act(context: StepContext): Promise<ActionOutcome>;

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
      now: options.now,
    });
  }

  /**
   * Renders the memory of `state` as the messages the model sees next. The agent kinds build `systemPrompt` once per
   * toolbox version, so every step shares one prompt string.
   */
  writeMemoryToMessages(state: AgentState, options: { summaryMode?: boolean } = {}): ChatMessage[] {
    if (this.maxContextTokens && !options.summaryMode) {
      return boundedMemoryToMessages(state, this.systemPrompt, this.maxContextTokens);
    }
    return memoryToMessages(state, this.systemPrompt, options);
  }

  /**
   * Runs exactly one step (`lib/agents/step.ts`). Model failures throw `AgentGenerationError` (or
   * `ConfigurationError`) and leave the run as it was; errors of the action itself are recorded on the step and fed
   * back to the model.
   */
  step(state: AgentState, options: StepOptions = {}): Promise<StepResult> {
    const io = { ...options, now: options.now ?? Date.now };
    return tracedStep(this.#identity(), io, (traced) => takeStep(this.#spec, state, traced));
  }

  /**
   * Gives a paused run (`awaiting_input`) what it waits for, completing its last action step: `{approve, reason?}`
   * for tool calls that need approval, `{answer}` for a `user_input` question. Atomic like `step()`.
   */
  resume(state: AgentState, input: unknown, options: StepOptions = {}): Promise<StepResult> {
    const io = { ...options, now: options.now ?? Date.now };
    return tracedStep(this.#identity(), io, (traced) => takeStep(this.#spec, state, traced, { input }), true);
  }

  /** What the step's span names: the agent and its model. */
  #identity(): { name: string; modelId: string | undefined } {
    return { name: this.name, modelId: this.model.modelId };
  }

  /** Completes an action step that paused for input; agents that never pause do not override it. */
  protected resumeAction(
    _paused: ActionFields,
    _pending: PendingInput,
    _input: unknown,
    _context: StepContext,
  ): Promise<ActionOutcome> {
    return Promise.reject(new ConfigurationError(`${this.kind} does not pause for input.`));
  }

  /** Adds the managed agents' reports to the waiting step's observations (CodeAgent also keeps them as variables). */
  protected completeDelegation(waiting: ActionFields, reports: ManagedReport[], _state: AgentState): ActionOutcome {
    const text = reports.map((report) => report.text).join("\n\n");
    return {
      kind: "continue",
      action: {
        ...waiting,
        observations: waiting.observations ? `${waiting.observations}\n\n${text}` : text,
        actionOutput: reports.length === 1 ? reports[0].answer : reports.map((report) => report.answer),
      },
    };
  }

  /** Returns the code the model writes for `task` without running it; only code agents can. */
  generateCode(_task: string, _options: RunOptions = {}): Promise<string> {
    return Promise.reject(
      new ConfigurationError(`${this.kind} does not write code; returnGeneratedCode needs a CodeAgent.`),
    );
  }

  /**
   * Calls the model; wraps failures as `AgentGenerationError`. `observer` (the step's `modelObserver`) is told how
   * the call went; `onDelta` (the step's) hears the reply's pieces as they stream. Neither is passed to the model.
   */
  protected generate(
    messages: ChatMessage[],
    { observer, onDelta, spans, ...options }: ModelCallOptions,
  ): Promise<ChatMessage> {
    return callModel(this.model, messages, options, observer, onDelta, spans);
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

  /**
   * Rebuilds an agent from `toJSON()`'s output, with tools, model and executor supplied by the caller, and the agent
   * classes by kind name: `MultiStepAgent.fromJSON(json, { kinds: { ToolCallingAgent, CodeAgent }, tools, model })`.
   * `agentFromJSON` (lib/agents/agent_kinds.ts) passes the built-in kinds for you.
   */
  static fromJSON(
    definition: AgentDefinition,
    dependencies: AgentDependencies & { kinds: AgentKinds<MultiStepAgent> },
  ): MultiStepAgent {
    return agentFromDefinition(definition, dependencies);
  }

  /** Steps a run until it ends (or pauses without `onInput`), yielding every event; returns the final state. */
  stream(task: string, options: RunOptions = {}): AsyncGenerator<AgentEvent, AgentState> {
    return streamRun(this, task, options, true);
  }

  /**
   * Runs the task to the end and returns the final answer (`returnFullResult`, here or on the agent, gives a
   * `RunResult`), or, with `stream: true`, an async iterator of events. A model failure ends the run with status
   * `failed` and throws (with a full result, it is in the result's `error`).
   */
  run(task: string, options: RunOptions & { stream: true }): AsyncGenerator<AgentEvent, AgentState>;
  run(task: string, options: RunOptions & { returnFullResult: true; stream?: false }): Promise<RunResult>;
  /** The answer, or a `RunResult` where `returnFullResult` (this call's, else the agent's) says so. */
  run(task: string, options?: RunOptions & { stream?: false; returnFullResult?: boolean }): Promise<unknown>;
  run(
    task: string,
    options: RunOptions & { stream?: boolean; returnFullResult?: boolean } = {},
  ): AsyncGenerator<AgentEvent, AgentState> | Promise<unknown> {
    if (options.stream) return this.stream(task, options);
    if (options.returnGeneratedCode) return this.generateCode(task, options);
    return runToEnd(this, task, { ...options, returnFullResult: options.returnFullResult ?? this.returnFullResult });
  }
}
