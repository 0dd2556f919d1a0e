import { clipText } from "../text_clip.ts";
import { type ChatMessage, textOf } from "../models/chat_message.ts";
import type { AgentState } from "./agent_state.ts";
import { stepMessages } from "./memory_to_messages.ts";
import type { ActionStep, StepRecord } from "./step_records.ts";

/**
 * Bounded memory: smolagents replays the whole history every step, so input tokens grow quadratically over a run.
 * With a budget, the rendering keeps the system prompt, every task, the latest plan and as many of the latest
 * steps as fit verbatim; older action steps are condensed into one digest (tool, arguments, start of the
 * observation or error). The state itself is not changed: only what the model is shown.
 */

/** A rough token count (characters / 4), the same everywhere so budgets behave predictably. */
export function estimateTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((sum, message) => sum + Math.ceil(textOf(message.content).length / 4) + 4, 0);
}

const DIGEST_CHARS = 160;
const DIGEST_HEADER = "Summary of earlier steps (condensed to save context):";

/** One line of at most `DIGEST_CHARS` characters (and "..."): whitespace runs become one space. */
const clip = (text: string) => clipText(text.replace(/\s+/g, " ").trim(), DIGEST_CHARS, "...");

/** One line per condensed action step. */
function digestLine(step: ActionStep): string {
  const calls = step.toolCalls.map((call) => `${call.name}(${clip(JSON.stringify(call.arguments ?? {}))})`).join(", ");
  const outcome = step.error ? `error: ${clip(step.error.message)}` : `-> ${clip(step.observations ?? "")}`;
  return `- step ${step.stepNumber}: ${calls || "(no call)"} ${outcome}`;
}

export function boundedMemoryToMessages(state: AgentState, systemPrompt: string, maxTokens: number): ChatMessage[] {
  const system: ChatMessage = { role: "system", content: systemPrompt };
  const latestPlan = state.steps.findLastIndex((step) => step.type === "planning");
  const pinned = (step: StepRecord, index: number) => step.type === "task" || index === latestPlan;
  let used = estimateTokens([system]) +
    estimateTokens(state.steps.flatMap((step, index) => pinned(step, index) ? stepMessages(step, false) : []));

  // Newest steps verbatim while they fit, leaving a quarter of the budget for the digest of older ones.
  const verbatim = new Set<number>();
  const verbatimLimit = maxTokens - Math.floor(maxTokens / 4);
  for (let index = state.steps.length - 1; index >= 0; index--) {
    const step = state.steps[index];
    if (pinned(step, index) || step.type !== "action") continue;
    const cost = estimateTokens(stepMessages(step, false));
    if (used + cost > verbatimLimit && verbatim.size > 0) break;
    verbatim.add(index);
    used += cost;
  }

  // Digest lines for the rest, newest first while they fit; the oldest are only counted.
  const lines = new Map<number, string>();
  let omitted = 0;
  const condensed = state.steps.some((step, index) => step.type === "action" && !verbatim.has(index));
  if (condensed) {
    used += estimateTokens([{ role: "user", content: `${DIGEST_HEADER}\n- (99999 earlier steps omitted)` }]);
  }
  for (let index = state.steps.length - 1; index >= 0; index--) {
    const step = state.steps[index];
    if (step.type !== "action" || verbatim.has(index)) continue;
    const line = digestLine(step);
    const cost = Math.ceil((line.length + 1) / 4);
    if (omitted === 0 && used + cost <= maxTokens) {
      lines.set(index, line);
      used += cost;
    } else omitted++;
  }

  const messages: ChatMessage[] = [system];
  let digest: string[] = [];
  let omittedNoted = omitted === 0;
  const flush = () => {
    if (digest.length === 0) return;
    messages.push({
      role: "user",
      content: `Summary of earlier steps (condensed to save context):\n${digest.join("\n")}`,
    });
    digest = [];
  };
  state.steps.forEach((step, index) => {
    if (step.type === "action" && !verbatim.has(index)) {
      if (!omittedNoted) digest.push(`- (${omitted} earlier steps omitted)`);
      omittedNoted = true;
      const line = lines.get(index);
      if (line) digest.push(line);
      return;
    }
    flush();
    if (step.type === "planning" && index !== latestPlan) return;
    messages.push(...stepMessages(step, false));
  });
  flush();
  return messages;
}
