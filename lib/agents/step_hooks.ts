import { AgentError, AgentGenerationError, ConfigurationError, SmolstepError } from "../errors.ts";
import type { AgentState } from "../memory/agent_state.ts";
import type { StepRecord } from "../memory/step_records.ts";
import type { ChatMessage, TokenUsage } from "../models/chat_message.ts";
import type { GenerateOptions, Model } from "../models/model.ts";
import type { ModelCallOutcome, ModelObserver } from "../models/model_observer.ts";
import { collectStream, type ModelDelta } from "../models/stream_reply.ts";
import type { StepSpans } from "../tracing/step_spans.ts";
import type { Agent, FinalAnswerCheck, StepCallback, StepCallbacks } from "./step_types.ts";

/** What happens around a step: token totals, final-answer checks, step callbacks. */

export function addUsage(
  total: TokenUsage | null,
  usage: TokenUsage | null | undefined,
): TokenUsage | null {
  if (!usage) return total;
  return {
    inputTokens: (total?.inputTokens ?? 0) + usage.inputTokens,
    outputTokens: (total?.outputTokens ?? 0) + usage.outputTokens,
  };
}

/**
 * Runs the checks in order; the first that returns false (or throws) becomes the step's error, worded as smolagents
 * words it ("Check <name> failed with error: ...").
 */
export async function checkFinalAnswer(
  checks: readonly FinalAnswerCheck[],
  answer: unknown,
  state: AgentState,
  agent: Agent,
): Promise<AgentError | null> {
  for (const [index, check] of checks.entries()) {
    const label = check.name || `#${index + 1}`;
    try {
      if (await check(answer, { task: state.task, steps: state.steps }, agent)) continue;
      return new AgentError(
        `Check ${label} failed with error: it returned false for answer ${JSON.stringify(answer)}.`,
      );
    } catch (caught) {
      const message = caught instanceof Error ? caught.message : String(caught);
      return new AgentError(`Check ${label} failed with error: ${message}`);
    }
  }
  return null;
}

/**
 * Calls the callbacks registered for `record`; one that calls `interrupt()` ends the run as `failed`. Without any,
 * `state` itself is returned at once (no promise).
 */
export function runStepCallbacks(
  callbacks: StepCallbacks,
  record: StepRecord,
  state: AgentState,
  agentName: string,
): AgentState | Promise<AgentState> {
  // As in smolagents: a plain list is for action steps; per-type callbacks also see planning and final_answer steps.
  const selected: readonly StepCallback[] | undefined = Array.isArray(callbacks)
    ? (record.type === "action" ? callbacks : undefined)
    : callbacks[record.type];
  return selected?.length ? callEach(selected, record, state, agentName) : state;
}

async function callEach(
  selected: readonly StepCallback[],
  record: StepRecord,
  state: AgentState,
  agentName: string,
): Promise<AgentState> {
  let interrupted: string | undefined;
  for (const callback of selected) {
    await callback(record, {
      state,
      agentName,
      interrupt: (reason) => interrupted = reason ?? "Agent interrupted.",
    });
  }
  if (interrupted === undefined || state.status === "succeeded" || state.status === "max_steps_error") return state;
  return {
    ...state,
    status: "failed",
    pendingInput: undefined,
    error: { type: "AgentInterruptedError", message: interrupted },
  };
}

/**
 * Calls the model; a failure becomes `AgentGenerationError` (configuration errors pass through as they are).
 * `observer` hears of the call's end and, through `onRetry`, of each retry the backend makes. With `onDelta`, a model
 * that streams is called through `generateStream` and told each piece as it arrives; the reply is the same message.
 */
export async function callModel(
  model: Model,
  messages: ChatMessage[],
  options: GenerateOptions,
  observer?: ModelObserver,
  onDelta?: (piece: ModelDelta) => void,
  spans?: StepSpans,
): Promise<ChatMessage> {
  const modelId = model.modelId ?? "unknown";
  // Timed only for an observer: without one, no clock read and no closure per call.
  const started = observer ? performance.now() : 0;
  const ended = observer &&
    ((outcome: ModelCallOutcome) => observer.modelCallEnded(modelId, (performance.now() - started) / 1000, outcome));
  const onRetry = options.onRetry;
  const observed: GenerateOptions = observer
    ? { ...options, onRetry: (info) => (observer.modelRetried(modelId, info), onRetry?.(info)) }
    : options;
  try {
    const reply = spans
      ? await spans.modelCall(modelId, () => modelReply(model, messages, observed, onDelta))
      : await modelReply(model, messages, observed, onDelta);
    // A model may end a stream quietly when its signal aborts (a custom model's `openai` client does): a reply that
    // arrives after the abort may be cut short, and the step is abandoned anyway.
    options.signal?.throwIfAborted();
    ended?.("ok");
    return reply;
  } catch (caught) {
    ended?.(options.signal?.aborted ? "aborted" : "error");
    if (caught instanceof ConfigurationError) throw caught;
    const retryable = caught instanceof SmolstepError ? caught.retryable : true;
    const message = caught instanceof Error ? caught.message : String(caught);
    throw new AgentGenerationError(`Error while generating output: ${message}`, { cause: caught, retryable });
  }
}

/** The model's reply: streamed piece by piece to `onDelta` when given and the model streams, else in one call. */
function modelReply(
  model: Model,
  messages: ChatMessage[],
  options: GenerateOptions,
  onDelta: ((piece: ModelDelta) => void) | undefined,
): Promise<ChatMessage> {
  return onDelta && model.generateStream
    ? collectStream(model.generateStream(messages, options), onDelta)
    : model.generate(messages, options);
}
