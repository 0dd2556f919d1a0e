/**
 * Input tokens per step of a 50-step tool-calling run, with and without a context budget. The scripted model
 * server reports prompt tokens as characters / 4 of what it was sent.
 *
 *   deno run -A bench/bounded_memory_report.ts
 */
import { z } from "zod";
import { OpenAIServerModel, tool, ToolCallingAgent } from "../lib/mod.ts";
import { type ReceivedRequest, startScriptedModelServer } from "../tests/support/scripted_model_server.ts";

const STEPS = 50;
const BUDGET = 4_000;

function reply(request: ReceivedRequest) {
  const done = (request.body.messages ?? []).filter((m) => String(m.content ?? "").startsWith("Observation:")).length;
  return done < STEPS - 1
    ? { content: `Thought: read page ${done + 1}.`, toolCalls: [{ name: "read_page", arguments: { page: done + 1 } }] }
    : { toolCalls: [{ name: "final_answer", arguments: { answer: "done" } }] };
}

const readPage = tool({
  name: "read_page",
  description: "Returns one page of a long document.",
  inputs: z.object({ page: z.number().int() }),
  run: ({ page }) => `Page ${page}. ${"The quick brown fox jumps over the lazy dog. ".repeat(20)}`,
});

const server = await startScriptedModelServer({ replies: reply });
const rows: Record<string, number[]> = {};
for (const [label, maxContextTokens] of [["no budget", undefined], [`maxContextTokens ${BUDGET}`, BUDGET]] as const) {
  const model = new OpenAIServerModel({ modelId: "scripted", apiBase: server.url, apiKey: "k" });
  const agent = new ToolCallingAgent({ model, tools: [readPage], maxSteps: STEPS + 5, maxContextTokens });
  const result = await agent.run("Read the whole document.", { returnFullResult: true });
  rows[label] = result.steps.flatMap((step) =>
    step.type === "action" && step.tokenUsage ? [step.tokenUsage.inputTokens] : []
  );
}
await server.close();

const pick = [1, 10, 25, 50];
console.log(`| run | ${pick.map((n) => `step ${n}`).join(" | ")} | total input tokens |`);
console.log(`| --- | ${pick.map(() => "---").join(" | ")} | --- |`);
for (const [label, tokens] of Object.entries(rows)) {
  const total = tokens.reduce((sum, n) => sum + n, 0);
  console.log(`| ${label} | ${pick.map((n) => tokens[n - 1] ?? "-").join(" | ")} | ${total.toLocaleString("en")} |`);
}
