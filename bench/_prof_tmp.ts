import { calculatorTool, OpenAIServerModel, ToolCallingAgent } from "../lib/mod.ts";
import { calculatorRunReply } from "../tests/support/run_scenarios.ts";
import { type ReceivedRequest, startScriptedModelServer } from "../tests/support/scripted_model_server.ts";
const reply = (request: ReceivedRequest) => calculatorRunReply(request, 9);
await using server = await startScriptedModelServer({ replies: reply });
const model = new OpenAIServerModel({ modelId: "scripted", apiBase: server.url, apiKey: "k" });
const agent = new ToolCallingAgent({ name: "bench", model, tools: [calculatorTool], maxSteps: 12 });
const runs = Number(Deno.args[0] ?? 300);
for (let i = 0; i < 20; i++) { server.reset(); server.setHandler(reply); await agent.run("Count to ten."); }
const t0 = performance.now();
for (let i = 0; i < runs; i++) { if (i % 50 === 0) { server.reset(); server.setHandler(reply); } await agent.run("Count to ten."); }
console.log(((performance.now() - t0) / runs / 10).toFixed(3), "ms/step");
