import assert from "node:assert/strict";
import { z } from "zod";
import { estimateTokens } from "../../lib/memory/bounded_memory.ts";
import { type ChatMessage, tool, ToolCallingAgent } from "../../lib/mod.ts";
import { textOf } from "../../lib/models/chat_message.ts";

/** A tool with a big observation, and a model that calls it 49 times then answers; it records what it was shown. */
function longRun(maxContextTokens?: number) {
  const shown: ChatMessage[][] = [];
  const fetchPage = tool({
    name: "fetch_page",
    description: "Returns a page of text.",
    inputs: z.object({ page: z.number().int() }),
    run: ({ page }) => `page ${page}: ${"lorem ipsum dolor sit amet ".repeat(30)}`,
  });
  let step = 0;
  const agent = new ToolCallingAgent({
    model: (messages) => {
      shown.push(messages);
      step++;
      const call = step < 50
        ? { name: "fetch_page", arguments: { page: step } }
        : { name: "final_answer", arguments: { answer: "read them all" } };
      return {
        content: `Thought: step ${step}.`,
        toolCalls: [{ id: `c${step}`, type: "function" as const, function: call }],
      };
    },
    tools: [fetchPage],
    maxSteps: 60,
    planningInterval: 20,
    maxContextTokens,
  });
  return { agent, shown };
}

Deno.test("bounded memory: a 50-step run stays under its context budget", async () => {
  const budget = 3_000;
  const bounded = longRun(budget);
  assert.equal(await bounded.agent.run("Read fifty pages."), "read them all");
  // Every model call, plan updates included, stays within the budget (plus the planning prompt itself).
  const planPrompt = (messages: ChatMessage[]) => textOf(messages.at(-1)!.content).includes("<end_plan>");
  for (const [index, messages] of bounded.shown.entries()) {
    const size = estimateTokens(planPrompt(messages) ? messages.slice(0, -1) : messages);
    assert.ok(size <= budget, `call ${index}: ${size} tokens > ${budget}`);
  }
  const actionCalls = bounded.shown.filter((messages) => !planPrompt(messages));

  const last = actionCalls.at(-1)!;
  const text = last.map((message) => textOf(message.content)).join("\n");
  assert.equal(last[0].role, "system");
  assert.match(text, /New task:\nRead fifty pages\./, "the task is kept");
  assert.match(text, /Summary of earlier steps \(condensed to save context\):\n- \(\d+ earlier steps omitted\)/);
  assert.match(text, /\n- step \d+: fetch_page\(\{"page":\d+\}\) -> page \d+: lorem/);
  assert.match(text, /Observation:\npage 49: lorem/, "the latest step is verbatim");
  assert.match(text, /Now go on and carry out this plan/, "the latest plan is kept");

  const unbounded = longRun();
  await unbounded.agent.run("Read fifty pages.");
  const unboundedLast = estimateTokens(unbounded.shown.at(-1)!);
  assert.ok(unboundedLast > 4 * budget, `without a budget the last input is ${unboundedLast} tokens`);
});

Deno.test("bounded memory: under the budget, rendering is the plain one", () => {
  const { agent } = longRun(1_000_000);
  const state = agent.start("short");
  assert.deepEqual(agent.writeMemoryToMessages(state), [
    { role: "system", content: agent.systemPrompt },
    { role: "user", content: "New task:\nshort" },
  ]);
});
