import { clipText } from "../text_clip.ts";
import type { AgentState } from "./agent_state.ts";
import type { StepRecord } from "./step_records.ts";

/** A readable log of a run: task, plans, each step's thought, calls, observation or error, and the answer. */
export function formatReplay(state: AgentState, indent = ""): string {
  const lines: string[] = [];
  const usage = state.tokenUsage
    ? `, ${state.tokenUsage.inputTokens} in / ${state.tokenUsage.outputTokens} out tokens`
    : "";
  lines.push(`Run of '${state.agentName}': ${state.status}, ${state.stepNumber}/${state.maxSteps} steps${usage}`);
  for (const step of state.steps) lines.push(...formatStep(step));
  if (state.subRun) {
    lines.push(`~ managed agent '${state.subRun.agentName}' is working (call ${state.subRun.callId}):`);
    lines.push(formatReplay(state.subRun.state, "    "));
  }
  if (state.pendingInput) lines.push(`~ waiting for input: ${JSON.stringify(state.pendingInput)}`);
  if (state.error) lines.push(`! ${state.error.type}: ${state.error.message}`);
  return lines.map((line) => line.split("\n").map((part) => indent + part).join("\n")).join("\n");
}

const clip = (text: string) => clipText(text, 2_000);

function formatStep(step: StepRecord): string[] {
  switch (step.type) {
    case "task":
      return [`== Task\n${step.task}${step.images?.length ? `\n(${step.images.length} image(s))` : ""}`];
    case "planning":
      return [`== Plan${step.stepNumber ? ` before step ${step.stepNumber}` : ""}\n${step.plan}`];
    case "final_answer":
      return [`== Final answer\n${typeof step.output === "string" ? step.output : JSON.stringify(step.output)}`];
    case "action": {
      const seconds = (step.timing.durationMs / 1000).toFixed(2);
      const tokens = step.tokenUsage ? `, ${step.tokenUsage.inputTokens} in / ${step.tokenUsage.outputTokens} out` : "";
      const out = [`== Step ${step.stepNumber} (${seconds} s${tokens})`];
      if (step.modelOutput) out.push(clip(step.modelOutput.trim()));
      for (const call of step.toolCalls) {
        out.push(
          `-> ${call.name}(${typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments)})`,
        );
      }
      if (step.observations != null) out.push(`<- ${clip(step.observations)}`);
      if (step.error) out.push(`! ${step.error.type}: ${clip(step.error.message)}`);
      return out;
    }
  }
}
