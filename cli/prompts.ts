/** Answers a paused run at the prompt: approvals with y/n, the agent's questions with a line of text. */
import type { PendingInput, RunInput } from "../lib/client.ts";
import { asText } from "./display/display.ts";

/** Asks one question and resolves with the line typed (no newline), or null when the input has closed. */
export type Ask = (question: string) => Promise<string | null>;

/** The answer to `pending`, or null when the input closed before one came (the run is then cancelled). */
export async function answerPending(pending: PendingInput, ask: Ask): Promise<RunInput | null> {
  if (pending.kind === "question") {
    const answer = await ask("Your answer: ");
    return answer === null ? null : { answer };
  }
  const calls = pending.toolCalls.map((call) => `${call.name}(${asText(call.arguments)})`).join(", ");
  for (;;) {
    const reply = await ask(`Run ${calls}? [y/n] `);
    if (reply === null) return null;
    if (/^\s*y(es)?\s*$/i.test(reply)) return { approve: true };
    if (/^\s*no?\s*$/i.test(reply)) return { approve: false, reason: "The user rejected the call at the prompt." };
  }
}
