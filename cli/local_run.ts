/**
 * A run in this process: the agent's event stream (`run(task, {stream: true})`) shown as it comes, pauses answered
 * at the prompt, Ctrl-C turned into an abort of the step in flight.
 */
import type { MultiStepAgent } from "../lib/mod.ts";
import type { AgentState } from "../lib/memory/agent_state.ts";
import type { Display, RunEnd } from "./display/display.ts";
import { EXIT_CODES, exitCodeOf } from "./exit_codes.ts";
import { answerPending, type Ask } from "./prompts.ts";

export interface LocalRunOptions {
  task: string;
  maxSteps?: number;
  display: Display;
  ask: Ask;
  /** Aborted by Ctrl-C. */
  interrupt: AbortSignal;
  /** Shown in the header: the model's class and id. */
  modelLabel?: string;
}

export async function runLocal(agent: MultiStepAgent, options: LocalRunOptions): Promise<RunEnd> {
  const { display, interrupt } = options;
  const startedAt = Date.now();
  const inputClosed = new AbortController();
  const signal = AbortSignal.any([interrupt, inputClosed.signal]);
  display.start({ task: options.task, agent: agent.name, kind: agent.kind, model: options.modelLabel });
  const events = agent.run(options.task, {
    stream: true,
    signal,
    maxSteps: options.maxSteps,
    onInput: async (pending) => {
      display.pause();
      const input = await answerPending(pending, options.ask);
      if (input === null) {
        display.notice("The input closed before an answer: the run is cancelled.");
        inputClosed.abort();
        signal.throwIfAborted();
      }
      display.working();
      return input;
    },
  });
  let state: AgentState | undefined;
  let failure: unknown;
  try {
    display.working();
    for (;;) {
      const next = await events.next();
      if (next.done) {
        state = next.value;
        break;
      }
      display.event(next.value);
      if (next.value.type === "step") display.working();
    }
  } catch (caught) {
    failure = caught;
  }
  const last = state ?? agent.lastState;
  const base = {
    output: last?.finalAnswer ?? null,
    tokenUsage: last?.tokenUsage ?? null,
    durationMs: Date.now() - startedAt,
  };
  if (interrupt.aborted) {
    return { ...base, status: "cancelled", error: null, exitCode: EXIT_CODES.interrupted, interrupted: true };
  }
  if (inputClosed.signal.aborted) return { ...base, status: "cancelled", error: null, exitCode: EXIT_CODES.cancelled };
  if (failure !== undefined || !last) {
    const error = failure instanceof Error
      ? { type: failure.name, message: failure.message }
      : { type: "Error", message: String(failure) };
    return { ...base, status: "failed", error, exitCode: EXIT_CODES.failed };
  }
  return { ...base, status: last.status, error: last.error, exitCode: exitCodeOf(last.status) };
}
