/** What a run tells the screen, local or remote: one interface, a live printer and a JSON-lines printer behind it. */
import type { AgentEvent } from "../../lib/agents/agent_events.ts";
import type { RunStatus, StepError, TokenUsage } from "../../lib/client.ts";

export interface RunHeader {
  task: string;
  agent: string;
  /** The agent kind ("CodeAgent"...), when known. */
  kind?: string;
  /** The model's class and id, when known (local runs). */
  model?: string;
  /** The server's URL and the run's id for a remote run. */
  remote?: string;
  runId?: string;
}

export interface RunEnd {
  status: RunStatus;
  output: unknown;
  error: StepError | null;
  tokenUsage: TokenUsage | null;
  durationMs: number;
  exitCode: number;
  /** Stopped by Ctrl-C. */
  interrupted?: boolean;
}

export interface Display {
  start(header: RunHeader): void;
  /** The model is working on the next step (a spinner on a terminal). */
  working(): void;
  event(event: AgentEvent): void;
  /** A line for the person (a warning, why the run stops). */
  notice(text: string): void;
  end(end: RunEnd): void;
  /** Stops anything still moving; called before a prompt and at exit. */
  pause(): void;
}

/** A value as text: strings as they are, the rest as JSON. */
export function asText(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
