/**
 * Prompts of planning steps (`planningInterval`): an initial plan before the first action step, and plan updates
 * every `planningInterval` steps after it. Both ask for a facts survey, then a numbered plan ending `<end_plan>`.
 */

export const END_PLAN = "<end_plan>";

export const INITIAL_PLAN_PROMPT = `You are a careful planner. Before anyone acts on the task below, survey the facts
and write a plan.

Task:
{{task}}

The one who carries out the plan can use these tools:
{{tool_descriptions}}

Answer in exactly two parts.

## 1. Facts survey
### 1.1. Facts given in the task
### 1.2. Facts to look up (and where)
### 1.3. Facts to derive (by reasoning or computation)

## 2. Plan
A short numbered list of high-level steps that, done in order, solve the task. Do not detail individual tool calls.
The last step gives the final answer. After the last step, write ${END_PLAN} and stop.`;

export const UPDATE_PLAN_PROMPT = `You planned and worked on the task below; your progress so far is above. Update
your facts survey and your plan. {{remaining_steps}} steps remain to finish.

Task:
{{task}}

The tools available:
{{tool_descriptions}}

Answer in exactly two parts.

## 1. Updated facts survey
### 1.1. Facts given in the task
### 1.2. Facts learned so far
### 1.3. Facts still to look up
### 1.4. Facts still to derive

## 2. Updated plan
A short numbered list of the remaining high-level steps; the last gives the final answer. If what you did so far
failed, plan a different approach. After the last step, write ${END_PLAN} and stop.`;

/** What a planning step's record holds: the plan text without the end marker. */
export function planFromOutput(output: string): string {
  const at = output.indexOf(END_PLAN);
  return (at >= 0 ? output.slice(0, at) : output).trim();
}
