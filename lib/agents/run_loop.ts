import { AgentError, AgentGenerationError } from "../errors.ts";
import type { AgentState } from "../memory/agent_state.ts";
import { timingSince } from "../memory/step_records.ts";
import { type AgentEvent, type RunResult, runResultState } from "./agent_events.ts";
import type { Agent, RunOptions, StepOptions, StepResult } from "./step_types.ts";
import type { DeltaEvent } from "./agent_events.ts";
import { startRunSpan } from "./run_span.ts";
import type { Context } from "@opentelemetry/api";

/**
 * `run()` and `stream()` as loops over `step()`. A run waiting for input is resumed with `options.onInput` when
 * given; otherwise the loop stops there and the state says `awaiting_input`. With `deltas` (`stream()`), the model's
 * deltas of each step are yielded as they arrive, before the step's own events.
 */
export async function* streamRun(
  agent: Agent,
  task: string,
  options: RunOptions,
  deltas = false,
): AsyncGenerator<AgentEvent, AgentState> {
  let state = agent.start(task, options);
  agent.lastState = state;
  const span = startRunSpan(agent.name, options);
  let thrown: unknown;
  try {
    while (continues(state, options)) {
      options.signal?.throwIfAborted();
      state = yield* stepOnce(agent, state, options, deltas, span.context);
    }
  } catch (caught) {
    thrown = caught;
    throw caught;
  } finally {
    // Also when the caller stops iterating early (`return()` on the generator).
    span.end(state, thrown);
  }
  return state;
}

/** Whether the loop takes another step: the run is running, or waits for input that `onInput` can give. */
function continues(state: AgentState, options: RunOptions): boolean {
  return state.status === "running" || (waitsForInput(state) && options.onInput !== undefined);
}

/** One step (or resume) of the loop; a model failure ends the run `failed`. Returns the next state. */
async function* stepOnce(
  agent: Agent,
  current: AgentState,
  options: RunOptions,
  deltas: boolean,
  traceParent: Context,
): AsyncGenerator<AgentEvent, AgentState> {
  const now = options.now ?? Date.now;
  let state = current;
  try {
    const input = waitsForInput(current) ? await options.onInput!(current.pendingInput!, current) : undefined;
    const take = (stepOptions: StepOptions) => takeStep(agent, current, input, stepOptions);
    const stepOptions = stepOptionsOf(options, now, traceParent);
    const result = deltas ? yield* withDeltas((onDelta) => take({ ...stepOptions, onDelta })) : await take(stepOptions);
    state = result.state;
    yield* result.events;
  } catch (caught) {
    state = failedState(state, caught, now);
    yield { type: "final_answer", agent: agent.name, status: "failed", output: null };
  } finally {
    agent.lastState = state;
  }
  return state;
}

function waitsForInput(state: AgentState): boolean {
  return state.status === "awaiting_input";
}

function takeStep(agent: Agent, current: AgentState, input: unknown, stepOptions: StepOptions): Promise<StepResult> {
  return waitsForInput(current) ? agent.resume(current, input, stepOptions) : agent.step(current, stepOptions);
}

function stepOptionsOf(options: RunOptions, now: () => number, traceParent: Context): StepOptions {
  return { signal: options.signal, now, tracerProvider: options.tracerProvider, traceParent };
}

/** The run ended `failed` by a model failure (`AgentGenerationError`); anything else is thrown on. */
function failedState(current: AgentState, caught: unknown, now: () => number): AgentState {
  if (!(caught instanceof AgentGenerationError)) throw caught;
  return { ...current, status: "failed", error: caught.toJSON(), updatedAt: now() };
}

/**
 * `run()`'s loop: `streamRun`'s steps without its events, which `run()` drops, so no generator hands them on (the
 * agent's `lastState` and the run span are kept the same way).
 */
async function runSteps(agent: Agent, task: string, options: RunOptions): Promise<AgentState> {
  let state = agent.start(task, options);
  agent.lastState = state;
  const span = startRunSpan(agent.name, options);
  const now = options.now ?? Date.now;
  try {
    while (continues(state, options)) {
      options.signal?.throwIfAborted();
      const current = state;
      try {
        const input = waitsForInput(current) ? await options.onInput!(current.pendingInput!, current) : undefined;
        state = (await takeStep(agent, current, input, stepOptionsOf(options, now, span.context))).state;
      } catch (caught) {
        state = failedState(current, caught, now);
      }
      agent.lastState = state;
    }
  } catch (caught) {
    span.end(state, caught);
    throw caught;
  }
  span.end(state);
  return state;
}

/** `run()`: the loop to its end; the answer, or the `RunResult` with `returnFullResult`. */
export async function runToEnd(
  agent: Agent,
  task: string,
  options: RunOptions & { returnFullResult?: boolean },
): Promise<unknown> {
  const now = options.now ?? Date.now;
  const startTime = now();
  const state = await runSteps(agent, task, options);
  if (options.returnFullResult) {
    return {
      output: state.finalAnswer ?? null,
      state: runResultState(state.status),
      steps: state.steps,
      tokenUsage: state.tokenUsage,
      timing: timingSince(startTime, now),
      error: state.error,
    } satisfies RunResult;
  }
  if (state.status === "awaiting_input") {
    throw new AgentError("The run is waiting for input; pass `onInput` to run(), or use step() and resume().");
  }
  if (state.status === "failed") {
    const message = state.error?.message ?? "The run failed.";
    throw state.error?.type === "AgentGenerationError" ? new AgentGenerationError(message) : new AgentError(message);
  }
  return state.finalAnswer;
}

/**
 * Runs `work` with a delta sink and yields the deltas it sends while it runs, in order; returns what `work` returns
 * (or throws what it throws) once every delta sent before its end has been yielded.
 */
export async function* withDeltas<T>(
  work: (onDelta: (event: DeltaEvent) => void) => Promise<T>,
): AsyncGenerator<DeltaEvent, T> {
  const queue: DeltaEvent[] = [];
  let wake: (() => void) | undefined;
  const signal = () => {
    wake?.();
    wake = undefined;
  };
  let finished = false;
  const done = work((event) => {
    queue.push(event);
    signal();
  }).finally(() => {
    finished = true;
    signal();
  });
  // Observed here so a failure is not reported as unhandled before it is awaited below.
  done.catch(() => {});
  while (true) {
    while (queue.length) yield queue.shift()!;
    if (finished) break;
    await new Promise<void>((resolve) => wake = resolve);
  }
  return await done;
}
