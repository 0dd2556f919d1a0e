/**
 * Framework overhead per step: a 10-step tool-calling run against the scripted model server (instant replies),
 * compared in the same process with a bare loop over the `openai` client making the same calls.
 *
 *   deno bench -A --unstable-kv bench/step_overhead_bench.ts
 *
 * Each iteration is one whole run (10 model calls); divide by 10 for ms/step.
 */
import OpenAI from "openai";
import { calculatorTool, OpenAIServerModel, ToolCallingAgent } from "../lib/mod.ts";
import { createApp, MemoryStore } from "../lib/server.ts";
import { calculatorRunReply, kvRunInProcess } from "../tests/support/run_scenarios.ts";
import { type ReceivedRequest, startScriptedModelServer } from "../tests/support/scripted_model_server.ts";

const STEPS = 10;

/** Nine calculator calls, then the final answer. */
const reply = (request: ReceivedRequest) => calculatorRunReply(request, STEPS - 1);

const server = await startScriptedModelServer({ replies: reply });
const model = new OpenAIServerModel({ modelId: "scripted", apiBase: server.url, apiKey: "k" });
const agent = new ToolCallingAgent({ name: "bench", model, tools: [calculatorTool], maxSteps: STEPS + 2 });
const client = new OpenAI({ baseURL: server.url, apiKey: "k", maxRetries: 0 });
const tools = [...agent.tools.values()].map((tool) => ({
  type: "function" as const,
  function: { name: tool.name, description: tool.description, parameters: tool.parameters },
}));
const app = createApp({ agents: { bench: agent }, store: new MemoryStore(), secret: "bench-secret-0123456789" });

Deno.bench("bare openai loop (10 calls)", { group: "10-step run", baseline: true }, async () => {
  const messages: OpenAI.ChatCompletionMessageParam[] = [
    { role: "system", content: agent.systemPrompt },
    { role: "user", content: "Count to ten." },
  ];
  for (let step = 0; step < STEPS; step++) {
    const completion = await client.chat.completions.create({
      model: "scripted",
      messages,
      tools,
      stop: ["Observation:"],
    });
    const call = completion.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    if (call.function.name === "final_answer") break;
    const args = JSON.parse(call.function.arguments);
    messages.push({ role: "assistant", content: null, tool_calls: [call] });
    messages.push({ role: "tool", tool_call_id: call.id, content: `Observation:\n${await calculatorTool.call(args)}` });
  }
});

Deno.bench("ToolCallingAgent.run (library)", { group: "10-step run" }, async () => {
  const answer = await agent.run("Count to ten.");
  if (answer !== "done") throw new Error(`unexpected answer ${answer}`);
});

Deno.bench(
  "HTTP KV mode (app.fetch + MemoryStore)",
  { group: "10-step run" },
  // async: Deno.bench awaits only async functions, so a plain function returning a promise would run iterations at once.
  async () => await kvRunInProcess(app, "bench", "Count to ten."),
);

Deno.bench("HTTP stateless mode (signed, encrypted token)", { group: "10-step run" }, async () => {
  const created = await app.request("/v1/agents/bench/runs", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ task: "Count to ten.", stateless: true }),
  });
  let body = await created.json();
  while (body.status === "running") {
    body = await (await app.request("/v1/agents/bench/steps", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ state: body.state }),
    })).json();
  }
  if (body.status !== "succeeded") throw new Error(body.status);
});

globalThis.addEventListener("unload", () => void server.close());
