/**
 * What tracing costs: one ToolCallingAgent step (an instant in-process model that calls the calculator) with no
 * tracer provider (the default: `@opentelemetry/api`'s no-op), and with a recording provider (the SDK's
 * BasicTracerProvider, spans dropped by a no-op processor: the cost of making them, not of exporting them). A step
 * makes three spans: `invoke_agent`, `chat`, `execute_tool`.
 *
 *   deno bench -A --unstable-kv bench/tracing_overhead_bench.ts
 */
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { calculatorTool, type Model, ToolCallingAgent } from "../lib/mod.ts";

const model: Model = {
  modelId: "instant",
  generate: () =>
    Promise.resolve({
      role: "assistant",
      content: null,
      toolCalls: [{ id: "c1", type: "function", function: { name: "calculator", arguments: { expression: "1 + 1" } } }],
      tokenUsage: { inputTokens: 10, outputTokens: 5 },
    }),
};
const agent = new ToolCallingAgent({ name: "bench", model, tools: [calculatorTool], maxSteps: 1_000_000 });
const state = agent.start("Add.");
const recording = new BasicTracerProvider();

// Fail loudly before measuring anything that does not run.
if ((await agent.step(state)).step.type !== "action") throw new Error("the step did not run");

Deno.bench("no tracer provider (no-op)", { group: "one step", baseline: true }, async () => {
  await agent.step(state);
});
Deno.bench("recording tracer provider", { group: "one step" }, async () => {
  await agent.step(state, { tracerProvider: recording });
});
