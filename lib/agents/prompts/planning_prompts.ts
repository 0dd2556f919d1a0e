/**
 * Prompts of planning steps (`planningInterval`): an initial plan before the first action step, and plan updates
 * every `planningInterval` steps after it (or from the first step of a run continued over earlier memory). Both ask
 * for a facts survey, then a numbered plan ending `<end_plan>`. An update is sent as smolagents sends it: a system
 * message with the task, the memory, then the update request.
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

/**
 * The system message that leads a plan update (smolagents' `update_plan_pre_messages`): the task, then the run's
 * memory follows as messages of their own.
 */
export const UPDATE_PLAN_PRE_PROMPT = `You are a careful planner. You have been given this task:

Task:
{{task}}

Below is the history of the attempts made so far to solve it. You will survey what is known and what is not, then
write a step-by-step high-level plan. If the attempts so far have met some success, build on their results; if they
are stalled, plan a different approach from scratch.`;

/** The user message that closes a plan update (smolagents' `update_plan_post_messages`), after the memory. */
export const UPDATE_PLAN_PROMPT = `Now update your facts survey and your plan, taking the history above into account.
{{remaining_steps}} steps remain to finish.

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
