import type { AgentState } from "../memory/agent_state.ts";
import { type PlanningStep, timingSince } from "../memory/step_records.ts";
import { type ChatMessage, textOf } from "../models/chat_message.ts";
import { END_PLAN, INITIAL_PLAN_PROMPT, planFromOutput, UPDATE_PLAN_PROMPT } from "./prompts/planning_prompts.ts";
import { fillPrompt } from "./prompts/tool_calling_prompt.ts";

/**
 * Planning cadence: with `planningInterval = k`, a plan precedes action steps 1, 1+k, 1+2k ... A plan is a step of
 * its own (one invocation); it is not counted against `maxSteps`.
 */
export function needsPlanning(state: AgentState, planningInterval: number | undefined): boolean {
  if (!planningInterval || planningInterval < 1 || state.stepNumber >= state.maxSteps) return false;
  const next = state.stepNumber + 1;
  if ((next - 1) % planningInterval !== 0) return false;
  const last = state.steps.at(-1);
  return !(last?.type === "planning" && last.stepNumber === next);
}

/** Asks the model for the initial plan or an updated one, and returns the planning record. */
export async function planningStep(
  state: AgentState,
  context: {
    /** The run's memory as the planner sees it (summary mode, or the bounded rendering under a context budget). */
    memory(state: AgentState): ChatMessage[];
    toolDescriptions: string;
    generate(messages: ChatMessage[], stopSequences: string[]): Promise<ChatMessage>;
  },
): Promise<PlanningStep> {
  const startTime = Date.now();
  const next = state.stepNumber + 1;
  const values = {
    task: state.task,
    tool_descriptions: context.toolDescriptions,
    remaining_steps: String(state.maxSteps - state.stepNumber),
  };
  const messages: ChatMessage[] = next === 1 ? [{ role: "user", content: fillPrompt(INITIAL_PLAN_PROMPT, values) }] : [
    ...context.memory(state),
    { role: "user", content: fillPrompt(UPDATE_PLAN_PROMPT, values) },
  ];
  const reply = await context.generate(messages, [END_PLAN]);
  const output = textOf(reply.content);
  return {
    type: "planning",
    stepNumber: next,
    plan: planFromOutput(output),
    modelOutput: output,
    timing: timingSince(startTime),
    tokenUsage: reply.tokenUsage ?? null,
  };
}
