/**
 * A run's progress as text for `delta.reasoning_content` (what chat frontends show as the model's "thinking"):
 * a heading per step, the model's text as it streams (when this process hears the deltas), then the step's tool
 * calls, observations (clipped) and error. Plain text with light Markdown; never the answer itself.
 */
import { clipText } from "../text_clip.ts";
import type { RunProgress } from "./run_to_answer.ts";

/** Longest observation (or plan, or model text) shown per step; the full text is in the run. */
export const MAX_NARRATED_CHARS = 1_000;

export class RunNarrator {
  /** Steps whose model text was streamed as deltas (by agent and step number), so it is not repeated. */
  readonly #heard = new Set<string>();

  /** The text to add for one piece of progress ("" for none). */
  narrate(progress: RunProgress): string {
    if (progress.type === "end") return "";
    if (progress.type === "delta") {
      const { event } = progress;
      if (!event.text) return "";
      const key = `${event.agent}#${event.stepNumber}`;
      const heading = this.#heard.has(key) ? "" : `${stepHeading(event.stepNumber, event.agent)}\n`;
      this.#heard.add(key);
      return heading + event.text;
    }
    const { step } = progress;
    if (step.type === "planning") {
      return this.#streamed(step.stepNumber) ? "\n\n" : `**Plan**\n${clipText(step.plan, MAX_NARRATED_CHARS)}\n\n`;
    }
    if (step.type !== "action") return "";
    const lines: string[] = [];
    const streamed = this.#streamed(step.stepNumber);
    if (streamed) lines.push("");
    else {
      lines.push(stepHeading(step.stepNumber));
      if (step.modelOutput?.trim()) lines.push(clipText(step.modelOutput.trim(), MAX_NARRATED_CHARS));
    }
    // The answer itself is the content, not progress.
    if (step.isFinalAnswer && !step.error) return streamed ? "\n\n" : "";
    for (const call of step.toolCalls) lines.push(`Calling \`${call.name}\` ${clipText(json(call.arguments), 300)}`);
    if (step.observations?.trim()) {
      lines.push(`Observation: ${clipText(step.observations.trim(), MAX_NARRATED_CHARS)}`);
    }
    if (step.error) lines.push(`Error (${step.error.type}): ${clipText(step.error.message, MAX_NARRATED_CHARS)}`);
    return `${lines.join("\n")}\n\n`;
  }

  /** Whether the model text of this top-level step was streamed (then only what follows it is added). */
  #streamed(stepNumber: number | undefined): boolean {
    return stepNumber !== undefined && [...this.#heard].some((key) => key.endsWith(`#${stepNumber}`));
  }
}

function stepHeading(stepNumber: number, agent?: string): string {
  return agent?.includes("/") ? `**Step ${stepNumber} (${agent})**` : `**Step ${stepNumber}**`;
}

function json(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value) ?? "";
}
