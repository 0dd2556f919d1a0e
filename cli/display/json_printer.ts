/** `--json`: every event as one JSON object per line, then `{"type":"end",...}`. Notices go to stderr. */
import type { AgentEvent } from "../../lib/agents/agent_events.ts";
import type { Display, RunEnd, RunHeader } from "./display.ts";

export class JsonPrinter implements Display {
  constructor(readonly out: (text: string) => void, readonly err: (text: string) => void) {}

  start(header: RunHeader): void {
    this.#line({ type: "start", ...header });
  }
  working(): void {}
  event(event: AgentEvent): void {
    this.#line(event);
  }
  notice(text: string): void {
    this.err(`${text}\n`);
  }
  end(end: RunEnd): void {
    this.#line({ type: "end", ...end });
  }
  pause(): void {}

  #line(value: unknown): void {
    this.out(`${JSON.stringify(value)}\n`);
  }
}
