import { AgentError, AgentGenerationError, AgentMaxStepsError } from "../errors.ts";
import type { AgentState, PendingInput } from "../memory/agent_state.ts";
import { maxStepsAnswerMessages } from "../memory/memory_to_messages.ts";
import {
  externalizeActionOutput,
  externalizeFinalAnswer,
  externalizeLongFields,
  externalizeObservation,
  hydrateObservations,
  TRUNCATED_CHARS,
  truncateWithMarker,
} from "../memory/large_observations.ts";
import type { ActionStep, StepRecord, Timing } from "../memory/step_records.ts";
import { type ChatMessage, textOf, type TokenUsage } from "../models/chat_message.ts";
import type { ModelDelta } from "../models/stream_reply.ts";
import type { BlobStorage } from "../stores/blob_store.ts";
import type { AgentEvent, DeltaEvent } from "./agent_events.ts";
import type { ManagedAgent } from "./managed_agent.ts";
import { needsPlanning, planningStep } from "./planning_step.ts";
import { addUsage, checkFinalAnswer, runStepCallbacks } from "./step_hooks.ts";
import type {
  ActionFields,
  ActionOutcome,
  Agent,
  FinalAnswerCheck,
  ManagedReport,
  ModelCallOptions,
  StepCallbacks,
  StepContext,
  StepIO,
  StepResult,
} from "./step_types.ts";
import { afterSubRunStep, startSubRun } from "./sub_runs.ts";
import { statusRefusal, StepRefusedError } from "./step_refused.ts";

export { type StepRefusedCode, StepRefusedError } from "./step_refused.ts";

/** The refusal of a step that needs `expected` on a run in `status`. */
function refused(expected: "running" | "awaiting_input", status: string): StepRefusedError {
  const { code, message } = statusRefusal(expected, status);
  return new StepRefusedError(message, code);
}

/** What a step needs of its agent: settings, the model, and the agent kind's three actions. */
export interface StepSpec {
  /** The agent's name: the states it may step, its events and records. */
  readonly name: string;
  /** The agent itself, given to the final-answer checks. */
  readonly agent: Agent;
  readonly planningInterval: number | undefined;
  /** Texts longer than this go to `io.blobs` and are kept in the state as a preview and a reference. */
  readonly largeObservationChars: number;
  readonly managedAgents: ReadonlyMap<string, ManagedAgent>;
  readonly stepCallbacks: StepCallbacks;
  readonly finalAnswerChecks: readonly FinalAnswerCheck[];
  /** Calls the model; a failure throws `AgentGenerationError` (or `ConfigurationError`). */
  generate(messages: ChatMessage[], options: ModelCallOptions): Promise<ChatMessage>;
  systemPrompt(): string;
  /** The memory as the planner reads it. */
  planningMemory(state: AgentState): ChatMessage[];
  toolDescriptions(): string;
  /** The agent kind's action: ask the model, act, say what happened. */
  act(context: StepContext): Promise<ActionOutcome>;
  /** Completes the action step that paused for `pending` with the `input` it waited for. */
  resumeAction(
    paused: ActionFields,
    pending: PendingInput,
    input: unknown,
    context: StepContext,
  ): Promise<ActionOutcome>;
  /** Completes the action step that delegated, with the managed agents' reports. */
  completeDelegation(waiting: ActionFields, reports: ManagedReport[], state: AgentState): ActionOutcome;
}

/** Where the action record goes: appended as a new step, or completing the waiting step at `index` in place. */
type Slot =
  | { kind: "append"; stepNumber: number; startTime: number }
  | { kind: "complete"; index: number; stepNumber: number; startTime: number };

/** An action's outcome, or the answer the model gives when the run is out of steps. */
type StepOutcome = ActionOutcome | { kind: "max_steps"; action: ActionFields; answer: unknown; error: AgentError };

/**
 * One step of a run: reads `state` and returns a new state with exactly one more record (an action step, a planning
 * step, or with `resume` the paused action step completed in place); `state` is never modified. Its only effects are
 * the model call, the action's tool calls, blob reads and writes through `io.blobs`, and the step callbacks.
 */
export async function step(
  spec: StepSpec,
  state: AgentState,
  io: StepIO,
  resume?: { input: unknown },
): Promise<StepResult> {
  if (state.agentName !== spec.name) {
    throw new StepRefusedError(`This state belongs to agent '${state.agentName}', not '${spec.name}'.`);
  }
  // A managed agent is working: its step is this step.
  if (state.subRun) return await subRunStep(spec, state, io, resume);
  if (resume) return await resumeStep(spec, state, io, resume.input);
  if (state.status !== "running") throw refused("running", state.status);
  // What the model reads: referenced observations in full again. The record is appended to `state` itself.
  // Without a blob store nothing is stored by reference (the state is its own view).
  const view = io.blobs ? await hydrateObservations(state, io.blobs) : state;
  if (needsPlanning(state, spec.planningInterval)) return await planStep(spec, state, view, io);
  const at: Slot = { kind: "append", stepNumber: state.stepNumber + 1, startTime: io.now() };
  let outcome: StepOutcome;
  if (state.stepNumber >= state.maxSteps) outcome = await answerAfterMaxSteps(spec, view, io, at.stepNumber);
  else {
    // As `attempt` does, without its closure per step.
    try {
      outcome = await spec.act(contextOf(spec, view, io, at.stepNumber));
    } catch (caught) {
      outcome = failedAction(emptyAction(), caught);
    }
  }
  return await settle(spec, state, outcome, at, io);
}

/** Records an outcome: the action step, then what its kind means for the run. */
async function settle(
  spec: StepSpec,
  state: AgentState,
  outcome: StepOutcome,
  at: Slot,
  io: StepIO,
): Promise<StepResult> {
  const final = outcome.kind === "final" || outcome.kind === "max_steps";
  const action = io.blobs
    ? await storeLongFields(outcome.action, !final, spec.largeObservationChars, io.blobs)
    : outcome.action;
  let error = outcome.kind === "error" || outcome.kind === "max_steps" ? outcome.error : null;
  // Error messages come from code and tools (a thrown 1 MB string): keep them bounded too.
  if (error) error.message = truncateWithMarker(error.message, spec.largeObservationChars);
  if (outcome.kind === "final") {
    error = await checkFinalAnswer(spec.finalAnswerChecks, outcome.answer, state, spec.agent);
  }
  const record: ActionStep = {
    type: "action",
    stepNumber: at.stepNumber,
    ...action,
    ...(final ? { actionOutput: outcome.answer } : {}),
    isFinalAnswer: outcome.kind === "max_steps" || (outcome.kind === "final" && !error),
    error: error ? error.toJSON() : null,
    timing: timing(at.startTime, io.now()),
  };
  let next: AgentState = {
    ...state,
    ...("variables" in outcome && outcome.variables ? { variables: outcome.variables } : {}),
    steps: at.kind === "append" ? [...state.steps, record] : state.steps.map((s, i) => i === at.index ? record : s),
    status: "running",
    pendingInput: undefined,
    stepNumber: outcome.kind === "max_steps" ? state.stepNumber : Math.max(state.stepNumber, at.stepNumber),
    // A completed step's usage was counted when it paused or delegated.
    tokenUsage: at.kind === "append" ? addUsage(state.tokenUsage, record.tokenUsage) : state.tokenUsage,
    updatedAt: io.now(),
  };
  switch (outcome.kind) {
    case "continue":
    case "error":
      break;
    case "pause":
      next = { ...next, status: "awaiting_input", pendingInput: outcome.pending };
      break;
    case "delegate":
      if (outcome.calls.length) next = { ...next, subRun: startSubRun(spec.managedAgents, outcome.calls, io.now) };
      break;
    case "final":
      if (record.isFinalAnswer) next = finish(next, record, "succeeded");
      break;
    case "max_steps":
      next = { ...finish(next, record, "max_steps_error"), error: record.error };
      break;
  }
  next = await runStepCallbacks(spec.stepCallbacks, record, next, spec.name);
  const closing = record.isFinalAnswer ? next.steps.at(-1) : undefined;
  if (closing) next = await runStepCallbacks(spec.stepCallbacks, closing, next, spec.name);
  const result = { state: next, step: record, agent: spec.name, events: eventsOf(spec.name, record, next) };
  return io.blobs ? await externalizeFinalAnswer(result, io.blobs, spec.largeObservationChars) : result;
}

/** Ends the run with the record's answer: the closing `final_answer` record follows the action step. */
function finish(state: AgentState, record: ActionStep, status: "succeeded" | "max_steps_error"): AgentState {
  const closing: StepRecord = { type: "final_answer", output: record.actionOutput };
  return { ...state, steps: [...state.steps, closing], status, finalAnswer: record.actionOutput };
}

function eventsOf(agent: string, record: ActionStep, state: AgentState): AgentEvent[] {
  const events: AgentEvent[] = [{ type: "step", agent, step: record }];
  if (state.status === "awaiting_input" && state.pendingInput) {
    events.push({ type: "awaiting_input", agent, pending: state.pendingInput });
  } else if (state.status !== "running") {
    events.push({ type: "final_answer", agent, status: state.status, output: state.finalAnswer ?? null });
  }
  return events;
}

/** Completes a paused run's last action step with the input it waited for. */
async function resumeStep(spec: StepSpec, state: AgentState, io: StepIO, input: unknown): Promise<StepResult> {
  const pending = state.pendingInput;
  if (state.status !== "awaiting_input" || !pending) {
    throw refused("awaiting_input", state.status);
  }
  const index = state.steps.findLastIndex((record) => record.type === "action");
  const { type: _t, stepNumber, timing, error: _e, isFinalAnswer: _f, ...fields } = state.steps[index] as ActionStep;
  const paused: ActionFields = { ...fields, observations: null, observationsRef: undefined };
  const outcome = await attempt(
    () => spec.resumeAction(paused, pending, input, contextOf(spec, state, io, stepNumber)),
    paused,
  );
  return await settle(spec, state, outcome, { kind: "complete", index, stepNumber, startTime: timing.startTime }, io);
}

/**
 * One step of the innermost active managed agent. When the sub-run (and any further managed call of the same step)
 * has answered, the manager's waiting action step is completed with the reports in the same invocation.
 */
async function subRunStep(
  spec: StepSpec,
  state: AgentState,
  io: StepIO,
  resume: { input: unknown } | undefined,
): Promise<StepResult> {
  const subRun = state.subRun!;
  const managed = spec.managedAgents.get(subRun.agentName);
  if (!managed) throw new StepRefusedError(`This run waits on an unknown managed agent '${subRun.agentName}'.`);
  // The managed agent's deltas name it by its path from this agent, as its step result does.
  const onDelta = io.onDelta;
  const childIo: StepIO = {
    ...io,
    ...(onDelta ? { onDelta: (e: DeltaEvent) => onDelta({ ...e, agent: `${spec.name}/${e.agent}` }) } : {}),
    // The managed agent's step span nests under this step's.
    ...(io.spans ? { traceParent: io.spans.context } : {}),
    spans: undefined,
  };
  const result = resume
    ? await managed.agent.resume(subRun.state, resume.input, childIo)
    : await managed.agent.step(subRun.state, childIo);
  const after = afterSubRunStep(spec.managedAgents, subRun, result.state, io.now);
  const usage = result.step.type === "task" || result.step.type === "final_answer" ? null : result.step.tokenUsage;
  const agent = `${spec.name}/${result.agent}`;
  const childPaused = after.subRun?.state.status === "awaiting_input" ? after.subRun.state.pendingInput : undefined;
  const next: AgentState = {
    ...state,
    subRun: after.subRun,
    status: childPaused ? "awaiting_input" : "running",
    pendingInput: childPaused,
    tokenUsage: addUsage(state.tokenUsage, usage),
    updatedAt: io.now(),
  };
  if (!after.reports) return { state: next, step: result.step, agent, events: result.events };

  const index = next.steps.findLastIndex((record) => record.type === "action");
  // The waiting step's own observation in full (it may be a stored preview), before the reports are added.
  const waiting = (await hydrateObservations(next, io.blobs)).steps[index] as ActionStep;
  const {
    type: _t,
    stepNumber,
    timing,
    error: _e,
    isFinalAnswer: _f,
    observationsRef: _r,
    storedFields: _s,
    ...fields
  } = waiting;
  const outcome = spec.completeDelegation(fields, after.reports, next);
  const completed = await settle(spec, next, outcome, {
    kind: "complete",
    index,
    stepNumber,
    startTime: timing.startTime,
  }, io);
  return { ...completed, step: result.step, agent, events: [...result.events, ...completed.events] };
}

/** A planning step of its own: the initial plan, or an update every `planningInterval` steps. */
async function planStep(spec: StepSpec, state: AgentState, view: AgentState, io: StepIO): Promise<StepResult> {
  const record = await planningStep(view, {
    memory: (current) => spec.planningMemory(current),
    toolDescriptions: spec.toolDescriptions(),
    // A plan is kept twice (plan and reply) and never stored by reference: cut a runaway reply with a marker.
    generate: async (messages, stopSequences) => {
      const reply = await spec.generate(messages, {
        stopSequences,
        signal: io.signal,
        observer: io.modelObserver,
        spans: io.spans,
        onDelta: deltaSink(spec, io, state.stepNumber + 1),
      });
      return { ...reply, content: truncateWithMarker(textOf(reply.content), TRUNCATED_CHARS) };
    },
    now: io.now,
  });
  let next: AgentState = {
    ...state,
    steps: [...state.steps, record],
    tokenUsage: addUsage(state.tokenUsage, record.tokenUsage),
    updatedAt: io.now(),
  };
  next = await runStepCallbacks(spec.stepCallbacks, record, next, spec.name);
  return { state: next, step: record, agent: spec.name, events: [{ type: "step", agent: spec.name, step: record }] };
}

/** Out of steps: the model answers from its memory; the run ends `max_steps_error` with that answer. */
async function answerAfterMaxSteps(
  spec: StepSpec,
  view: AgentState,
  io: StepIO,
  stepNumber: number,
): Promise<StepOutcome> {
  const messages = maxStepsAnswerMessages(view, spec.systemPrompt());
  const reply = await spec.generate(messages, {
    signal: io.signal,
    observer: io.modelObserver,
    spans: io.spans,
    onDelta: deltaSink(spec, io, stepNumber),
  });
  const text = textOf(reply.content);
  return {
    kind: "max_steps",
    action: { ...emptyAction(), modelOutput: text, tokenUsage: usageOf(reply) },
    answer: text,
    error: new AgentMaxStepsError(`Reached max steps (${view.maxSteps}) without a final answer.`),
  };
}

/** Runs an action; an `AgentError` it throws instead of returning becomes an `error` outcome over `action`. */
async function attempt(run: () => Promise<ActionOutcome>, action: ActionFields): Promise<ActionOutcome> {
  try {
    return await run();
  } catch (caught) {
    return failedAction(action, caught);
  }
}

/**
 * The `error` outcome for an action that threw `caught`: errors of the action (an `AgentError`) are recorded on the
 * step; anything else (a model failure, a configuration error, an abort) is thrown on and the step is not taken.
 */
export function failedAction(
  action: ActionFields,
  caught: unknown,
  variables?: Record<string, unknown>,
): ActionOutcome {
  if (!(caught instanceof AgentError) || caught instanceof AgentGenerationError) throw caught;
  return { kind: "error", action, error: caught, ...(variables ? { variables } : {}) };
}

/** An action step's fields before the model replied. */
export function emptyAction(): ActionFields {
  return { modelOutput: null, toolCalls: [], observations: null, tokenUsage: null };
}

/** The token usage of one model reply, as the step records it. */
export function usageOf(reply: ChatMessage): TokenUsage | null {
  return addUsage(null, reply.tokenUsage);
}

function contextOf(spec: StepSpec, state: AgentState, io: StepIO, stepNumber: number): StepContext {
  const onDelta = deltaSink(spec, io, stepNumber);
  return {
    state,
    signal: io.signal,
    blobs: io.blobs,
    modelObserver: io.modelObserver,
    spans: io.spans,
    ...(onDelta ? { onDelta } : {}),
  };
}

/** The step's delta sink bound to this agent and step number; undefined when nobody listens (no streaming). */
function deltaSink(spec: StepSpec, io: StepIO, stepNumber: number): ((piece: ModelDelta) => void) | undefined {
  const onDelta = io.onDelta;
  if (!onDelta) return undefined;
  return (piece) => onDelta({ type: "delta", agent: spec.name, stepNumber, ...piece });
}

function timing(startTime: number, endTime: number): Timing {
  return { startTime, endTime, durationMs: endTime - startTime };
}

/** Long texts of the record go to the blob store, kept as a preview and a reference (the answer of a final one stays). */
async function storeLongFields(
  action: ActionFields,
  storeOutput: boolean,
  threshold: number,
  blobs: BlobStorage | undefined,
): Promise<ActionFields> {
  if (!blobs) return action;
  const stored = await externalizeObservation(action.observations, blobs, threshold);
  const output = storeOutput && action.actionOutput !== undefined
    ? await externalizeActionOutput(action.actionOutput, blobs, threshold)
    : action.actionOutput;
  const fields: ActionFields = stored || output !== action.actionOutput
    ? { ...action, ...stored, ...(output !== action.actionOutput ? { actionOutput: output } : {}) }
    : action;
  return await externalizeLongFields(fields, blobs, threshold);
}
