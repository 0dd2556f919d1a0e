/**
 * smolstep's spans inside workerd (`wrangler dev`): the harness worker (tests/support/workers/tracing_harness.ts)
 * registers a TracerProvider written against `@opentelemetry/api` alone, steps a KV run through the step routes and
 * answers a chat completion against the scripted model, and returns the spans it recorded.
 */
import assert from "node:assert/strict";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { startWranglerDev } from "../support/wrangler_dev.ts";

interface RecordedSpan {
  name: string;
  parent: string | null;
  attributes: Record<string, unknown>;
  status: { code: number };
}

Deno.test("spans in workerd: run steps and a chat completion, recorded through @opentelemetry/api", async () => {
  const model = await startScriptedModelServer();
  const worker = await startWranglerDev({ config: "tests/support/workers/tracing_harness.toml" });
  try {
    model.enqueue(
      toolCallReply("calculator", { expression: "6 * 7" }),
      toolCallReply("final_answer", { answer: "42" }),
      toolCallReply("final_answer", { answer: "48" }),
    );
    const response = await fetch(`${worker.url}/run?model=${encodeURIComponent(model.url)}`);
    const result = await response.json() as {
      statuses: number[];
      runId: string;
      answer: string;
      spans: RecordedSpan[];
    };
    assert.deepEqual(result.statuses, [201, 200, 200, 200], JSON.stringify(result).slice(0, 2000));
    assert.equal(result.answer, "48");
    const steps = result.spans.filter((span) => span.name === "invoke_agent assistant");
    assert.equal(steps.length, 3, "two steps of the KV run, one of the chat's run");
    for (const step of steps.slice(0, 2)) assert.equal(step.attributes["smolstep.run.id"], result.runId);
    assert.notEqual(steps[2].attributes["smolstep.run.id"], result.runId, "the chat has a run of its own");
    assert.ok(steps.every((step) => step.status.code !== 2), "no step failed");
    const children = (parent: string) =>
      result.spans.filter((span) => span.parent === parent).map((span) => span.name).sort();
    assert.deepEqual(children("invoke_agent assistant"), [
      "chat scripted-model",
      "chat scripted-model",
      "chat scripted-model",
      "execute_tool calculator",
      "execute_tool final_answer",
      "execute_tool final_answer",
    ]);
    const chats = result.spans.filter((span) => span.name === "chat scripted-model");
    assert.ok(chats.every((chat) => typeof chat.attributes["gen_ai.usage.input_tokens"] === "number"), "usage");
    assert.equal(
      result.spans.find((s) => s.name === "execute_tool calculator")?.attributes["gen_ai.tool.name"],
      "calculator",
    );
  } finally {
    await worker.close();
    await model.close();
  }
});
