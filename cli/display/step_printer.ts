/**
 * The live display, as smolagents prints a run: a rule per step, the model's text as it streams, the code with
 * colours, tool calls, observations, errors, and a line of duration and tokens per step; a spinner while the model
 * works. On a pipe, or with NO_COLOR, the same text without escape codes or spinner.
 */
import type { AgentEvent, DeltaEvent } from "../../lib/agents/agent_events.ts";
import type { PendingInput, StepRecord } from "../../lib/client.ts";
import type { ActionStep, PlanningStep } from "../../lib/memory/step_records.ts";
import type { Palette } from "./ansi.ts";
import { asText, type Display, type RunEnd, type RunHeader } from "./display.ts";
import { highlightJs } from "./highlight.ts";
import { Spinner } from "./spinner.ts";

const RULE = "━".repeat(3);

export class StepPrinter implements Display {
  readonly #spinner: Spinner | undefined;
  /** The step whose text is streaming (`agent#step`), or undefined between records. */
  #streaming: string | undefined;
  #atLineStart = true;
  #topAgent = "";

  constructor(readonly write: (text: string) => void, readonly colors: Palette, spinner: boolean) {
    this.#spinner = spinner ? new Spinner(write, colors.cyan) : undefined;
  }

  start(header: RunHeader): void {
    this.#topAgent = header.agent;
    const c = this.colors;
    const about = [header.kind, header.model, header.remote && `remote ${header.remote}`, header.runId]
      .filter(Boolean).join(" · ");
    this.#print(`${c.bold(c.magenta("New run"))} ${c.bold(header.agent)}${about ? c.dim(` (${about})`) : ""}`);
    this.#print(header.task);
  }

  working(): void {
    this.#spinner?.start(this.colors.dim("The model is thinking…"));
  }

  event(event: AgentEvent): void {
    if (event.type === "delta") return this.#delta(event);
    this.pause();
    this.#endStream();
    if (event.type === "step") this.#record(event.agent, event.step);
    else if (event.type === "awaiting_input") this.#pending(event.pending);
    else if (event.status !== "failed") {
      const label = event.status === "succeeded" ? "Final answer:" : `Final answer (${event.status}):`;
      this.#print(`${this.colors.bold(this.colors.yellow(label))} ${asText(event.output)}`);
    }
  }

  notice(text: string): void {
    this.pause();
    this.#endStream();
    this.#print(this.colors.yellow(text));
  }

  end(end: RunEnd): void {
    this.pause();
    this.#endStream();
    const c = this.colors;
    if (end.error) this.#print(c.red(`${end.error.type}: ${end.error.message}`));
    const mark = end.status === "succeeded" ? c.green("✔") : c.red("✘");
    const tokens = end.tokenUsage
      ? ` | Input tokens: ${grouped(end.tokenUsage.inputTokens)} | Output tokens: ${
        grouped(end.tokenUsage.outputTokens)
      }`
      : "";
    const status = end.interrupted ? "interrupted" : end.status;
    this.#print(`${mark} ${c.bold(status)} ${c.dim(`[${seconds(end.durationMs)}${tokens} | exit ${end.exitCode}]`)}`);
  }

  pause(): void {
    this.#spinner?.stop();
  }

  #delta(event: DeltaEvent): void {
    if (!event.text) return;
    this.pause();
    const key = `${event.agent}#${event.stepNumber}`;
    if (this.#streaming !== key) {
      this.#endStream();
      this.#rule(event.agent, `Step ${event.stepNumber}`);
      this.#streaming = key;
    }
    this.#raw(this.colors.dim(event.text), event.text);
  }

  /** Ends a streamed text with a newline, once. */
  #endStream(): void {
    if (!this.#atLineStart) this.#raw("\n", "\n");
  }

  #record(agent: string, step: StepRecord): void {
    const streamed = this.#streaming !== undefined;
    this.#streaming = undefined;
    if (step.type === "action") this.#action(agent, step, streamed);
    else if (step.type === "planning") this.#plan(agent, step, streamed);
  }

  #action(agent: string, step: ActionStep, streamed: boolean): void {
    const c = this.colors;
    if (!streamed) {
      this.#rule(agent, `Step ${step.stepNumber}`);
      const thought = step.code && step.modelOutput?.includes(step.code)
        ? step.modelOutput.slice(0, step.modelOutput.indexOf(step.code)).replace(/(<code>|```\w*)\s*$/, "")
        : step.modelOutput;
      if (thought?.trim()) this.#print(c.dim(thought.trim()));
    }
    if (step.code !== undefined) {
      this.#print(c.bold("─ Executing code ─"));
      this.#print(highlightJs(step.code.trim(), c));
    } else {
      for (const call of step.toolCalls) {
        this.#print(`${c.cyan("→")} ${c.bold(call.name)}(${asText(call.arguments)})`);
      }
    }
    if (step.observations) this.#print(`${c.bold("Observations:")} ${step.observations.trim()}`);
    if (step.error) this.#print(c.red(`Error (${step.error.type}): ${step.error.message}`));
    this.#footer(`Step ${step.stepNumber}`, step);
  }

  #plan(agent: string, step: PlanningStep, streamed: boolean): void {
    if (!streamed) this.#rule(agent, "Plan");
    else this.#print(this.colors.bold("─ Plan (above) ─"));
    if (!streamed) this.#print(step.plan.trim());
    this.#footer("Plan", step);
  }

  #pending(pending: PendingInput): void {
    const c = this.colors;
    if (pending.kind === "question") {
      this.#print(`${c.yellow("?")} ${c.bold("The agent asks:")} ${pending.question}`);
      return;
    }
    for (const call of pending.toolCalls) {
      this.#print(`${c.yellow("⏸")} ${c.bold("Approval needed:")} ${call.name}(${asText(call.arguments)})`);
    }
  }

  #footer(label: string, step: ActionStep | PlanningStep): void {
    const usage = step.tokenUsage
      ? ` | Input tokens: ${grouped(step.tokenUsage.inputTokens)} | Output tokens: ${
        grouped(step.tokenUsage.outputTokens)
      }`
      : "";
    this.#print(this.colors.dim(`[${label}: Duration ${seconds(step.timing.durationMs)}${usage}]`));
  }

  #rule(agent: string, title: string): void {
    const who = agent && agent !== this.#topAgent ? `${agent} · ` : "";
    this.#print(this.colors.bold(this.colors.yellow(`${RULE} ${who}${title} ${RULE}`)));
  }

  #print(line: string): void {
    this.#raw(`${line}\n`, "\n");
  }

  /** Writes `text`; `plain` is the same without colours, to know whether the line is left open. */
  #raw(text: string, plain: string): void {
    this.write(text);
    if (plain) this.#atLineStart = plain.endsWith("\n");
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} seconds`;
}

function grouped(count: number): string {
  return count.toLocaleString("en-US");
}
