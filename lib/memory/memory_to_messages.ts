import type { ChatMessage, ContentPart } from "../models/chat_message.ts";
import type { AgentState } from "./agent_state.ts";
import type { ActionStep, StepRecord } from "./step_records.ts";

/** What the model is told after a recorded error. */
export const RETRY_HINT =
  "Now let's retry: take care not to repeat previous errors! If you have retried several times, try a completely different approach.";

export interface RenderOptions {
  /** Summary mode drops the system prompt, plans and raw model output. */
  summaryMode?: boolean;
}

function taskContent(task: string, images: string[] | undefined): string | ContentPart[] {
  const text = `New task:\n${task}`;
  if (!images?.length) return text;
  return [{ type: "text", text }, ...images.map((image): ContentPart => ({ type: "image", image }))];
}

function actionMessages(step: ActionStep, summaryMode: boolean): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (!summaryMode && step.modelOutput) {
    messages.push({ role: "assistant", content: step.modelOutput.trim() });
  }
  if (step.toolCalls.length > 0) {
    const calls = step.toolCalls.map((call) => ({
      id: call.id,
      type: "function",
      function: { name: call.name, arguments: call.arguments },
    }));
    messages.push({ role: "tool-call", content: `Calling tools:\n${JSON.stringify(calls)}` });
  }
  if (step.observations != null) {
    messages.push({ role: "tool-response", content: `Observation:\n${step.observations}` });
  }
  if (step.error) {
    messages.push({ role: "tool-response", content: `Error:\n${step.error.message}\n${RETRY_HINT}` });
  }
  return messages;
}

/**
 * The messages of one record, as last rendered, with the field values they were rendered from. A run's records are
 * re-rendered every step, so each is rendered once and reused while those fields are the same values; a record
 * edited in place (a step callback may assign a field, as smolagents' callbacks edit memory steps) is rendered again.
 * The cached messages are frozen: a caller that changed one would throw instead of changing later steps' prompts.
 */
interface Rendered {
  summaryMode: boolean;
  fields: unknown[];
  messages: readonly ChatMessage[];
}
const rendered = new WeakMap<StepRecord, Rendered>();

/** The values a record's messages are made from (tool calls down to each call's arguments). */
function renderedFrom(step: StepRecord): unknown[] {
  switch (step.type) {
    case "task":
      return [step.task, step.images, step.images?.length];
    case "planning":
      return [step.plan];
    case "action": {
      const fields: unknown[] = [step.modelOutput, step.observations, step.error, step.error?.message, step.toolCalls];
      for (const call of step.toolCalls) fields.push(call, call.id, call.name, call.arguments);
      return fields;
    }
    case "final_answer":
      return [];
  }
}

/** Whether `step`'s rendered fields are still the values in `fields` (`renderedFrom`'s order; allocates nothing). */
function sameFields(step: StepRecord, fields: unknown[]): boolean {
  switch (step.type) {
    case "task":
      return fields[0] === step.task && fields[1] === step.images && fields[2] === step.images?.length;
    case "planning":
      return fields[0] === step.plan;
    case "action": {
      const calls = step.toolCalls;
      if (
        fields.length !== 5 + 4 * calls.length || fields[0] !== step.modelOutput ||
        fields[1] !== step.observations || fields[2] !== step.error || fields[3] !== step.error?.message ||
        fields[4] !== calls
      ) return false;
      for (let i = 0, at = 5; i < calls.length; i++, at += 4) {
        const call = calls[i];
        if (
          fields[at] !== call || fields[at + 1] !== call.id || fields[at + 2] !== call.name ||
          fields[at + 3] !== call.arguments
        ) return false;
      }
      return true;
    }
    case "final_answer":
      return true;
  }
}

/** The messages of one record (frozen; reused across steps while the record's rendered fields are unchanged). */
export function stepMessages(step: StepRecord, summaryMode: boolean): readonly ChatMessage[] {
  const cached = rendered.get(step);
  if (cached && cached.summaryMode === summaryMode && sameFields(step, cached.fields)) return cached.messages;
  const messages = Object.freeze(renderStep(step, summaryMode).map(freezeMessage));
  rendered.set(step, { summaryMode, fields: renderedFrom(step), messages });
  return messages;
}

function freezeMessage(message: ChatMessage): ChatMessage {
  if (Array.isArray(message.content)) {
    for (const part of message.content) Object.freeze(part);
    Object.freeze(message.content);
  }
  return Object.freeze(message);
}

function renderStep(step: StepRecord, summaryMode: boolean): ChatMessage[] {
  switch (step.type) {
    case "task":
      return [{ role: "user", content: taskContent(step.task, step.images) }];
    case "planning":
      return summaryMode ? [] : [
        { role: "assistant", content: step.plan.trim() },
        { role: "user", content: "Now go on and carry out this plan." },
      ];
    case "action":
      return actionMessages(step, summaryMode);
    case "final_answer":
      return [];
  }
}

/** Renders the run's memory as chat messages: system prompt, then each step in order. */
export function memoryToMessages(
  state: Pick<AgentState, "steps">,
  systemPrompt: string,
  options: RenderOptions = {},
): ChatMessage[] {
  const summaryMode = options.summaryMode ?? false;
  const messages: ChatMessage[] = summaryMode ? [] : [{ role: "system", content: systemPrompt }];
  for (const step of state.steps) messages.push(...stepMessages(step, summaryMode));
  return messages;
}

/** What the model gets when a run is out of steps: its memory, then a request for the best answer it can give. */
export function maxStepsAnswerMessages(state: Pick<AgentState, "steps" | "task">, systemPrompt: string): ChatMessage[] {
  return [
    {
      role: "system",
      content:
        "An assistant worked on the user's task below but used up its steps before giving an answer. Its notes, tool calls and observations follow. Give the best final answer you can from them.",
    },
    ...memoryToMessages(state, systemPrompt).slice(1),
    { role: "user", content: `Using everything above, answer this task now:\n${state.task}` },
  ];
}
