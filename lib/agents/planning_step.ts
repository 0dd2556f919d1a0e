import type { AgentState } from "../memory/agent_state.ts";
import { type PlanningStep, timingSince } from "../memory/step_records.ts";
import { type ChatMessage, textOf } from "../models/chat_message.ts";
import {
  END_PLAN,
  INITIAL_PLAN_PROMPT,
  planFromOutput,
  UPDATE_PLAN_PRE_PROMPT,
  UPDATE_PLAN_PROMPT,
} from "./prompts/planning_prompts.ts";
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

/**
 * The messages of a planning call, as smolagents builds them. The initial plan (the memory holds only the task) is
 * one user message. An update (every `planningInterval` steps, or from the first step of a run continued with
 * `reset: false` over earlier memory) is a system message with the task, the memory without its system prompt, and
 * the update request telling how many steps remain: `maxSteps` minus the number of the action step about to run.
 */
export function planningMessages(
  state: AgentState,
  context: Pick<PlanningContext, "memory" | "toolDescriptions">,
): ChatMessage[] {
  const next = state.stepNumber + 1;
  // The task as the model reads it (additional arguments announced), not the bare `state.task`.
  const task = state.steps.findLast((step) => step.type === "task")?.task ?? state.task;
  const values = {
    task,
    tool_descriptions: context.toolDescriptions,
    remaining_steps: String(state.maxSteps - next),
  };
  if (isFirstPlan(state)) return [{ role: "user", content: fillPrompt(INITIAL_PLAN_PROMPT, values) }];
  const memory = context.memory(state);
  return [
    { role: "system", content: fillPrompt(UPDATE_PLAN_PRE_PROMPT, values) },
    ...(memory[0]?.role === "system" ? memory.slice(1) : memory),
    { role: "user", content: fillPrompt(UPDATE_PLAN_PROMPT, values) },
  ];
}

/**
 * The managed agents as smolagents lists them in its planning prompts ("You can also give tasks to team members"),
 * to append to the tool descriptions; empty without any.
 */
export function teamDescriptions(managed: ReadonlyMap<string, { name: string; description: string }>): string {
  if (managed.size === 0) return "";
  const members = [...managed.values()].map((agent) =>
    `- ${agent.name}: ${agent.description}\n    Takes inputs: {"task": string, "additional_args": object (optional)}\n    Returns an output of type: string`
  );
  return `\n\nYou can also give tasks to team members, called like tools with the task as the 'task' argument:\n${
    members.join("\n")
  }`;
}

/** smolagents plans from scratch only when the memory holds nothing but the task (`len(memory.steps) == 1`). */
function isFirstPlan(state: AgentState): boolean {
  return state.steps.length === 1 && state.steps[0].type === "task";
}

export interface PlanningContext {
  /** The run's memory as the planner sees it (summary mode, or the bounded rendering under a context budget). */
  memory(state: AgentState): ChatMessage[];
  toolDescriptions: string;
  generate(messages: ChatMessage[], stopSequences: string[]): Promise<ChatMessage>;
  /** The clock of the record's timing (epoch milliseconds); default `Date.now`. */
  now?: () => number;
}

/** Asks the model for the initial plan or an updated one, and returns the planning record. */
export async function planningStep(state: AgentState, context: PlanningContext): Promise<PlanningStep> {
  const now = context.now ?? Date.now;
  const startTime = now();
  const reply = await context.generate(planningMessages(state, context), [END_PLAN]);
  const output = textOf(reply.content);
  return {
    type: "planning",
    stepNumber: state.stepNumber + 1,
    plan: planFromOutput(output),
    modelOutput: output,
    timing: timingSince(startTime, now),
    tokenUsage: reply.tokenUsage ?? null,
  };
}
