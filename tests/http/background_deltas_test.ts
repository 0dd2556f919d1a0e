import assert from "node:assert/strict";
import { createClient, type RunEvent } from "../../lib/client.ts";
import { DurableObjectDeltaRelay } from "../../lib/adapters/cloudflare/durable_object_delta_relay.ts";
import { DurableObjectStore } from "../../lib/adapters/cloudflare/durable_object_store.ts";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { type AppOptions, MemoryStore } from "../../lib/server.ts";
import { calculatorTool } from "../../lib/tools/calculator_tool.ts";
import { serveBackground } from "../support/background_app.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { sqliteDurableObjects } from "../support/sqlite_durable_object.ts";

Deno.test("GET /v1/runs/{id}/events carries the deltas of a background run's step in flight, never replayed", async (t) => {
  await t.step("in-process relay (Deno)", () => deltasOfBackgroundRuns({ store: new MemoryStore() }));
  await t.step("through the run's Durable Object (Workers' DurableObjectDeltaRelay)", async () => {
    const objects = sqliteDurableObjects();
    try {
      await deltasOfBackgroundRuns({
        store: new DurableObjectStore(objects.namespace),
        deltas: new DurableObjectDeltaRelay(objects.namespace),
      });
    } finally {
      objects.close();
    }
  });
});

async function deltasOfBackgroundRuns(where: Pick<AppOptions, "store" | "deltas">) {
  await using model = await startScriptedModelServer();
  const openai = new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 });
  const agents = { calc: new ToolCallingAgent({ name: "calc", model: openai, tools: [calculatorTool] }) };
  // A lock (and step deadline) long enough for the delayed replies.
  const app = serveBackground({
    agents,
    ...where,
    lockTtlMs: 1_000,
    events: { pollMs: 10, maxDurationMs: 5_000 },
  });
  const client = createClient({ baseUrl: app.url });
  try {
    // The first reply waits, so the event stream below listens before the model starts answering.
    model.enqueue(
      { content: "Computing.", toolCalls: [{ name: "calculator", arguments: { expression: "6 * 7" } }], delayMs: 150 },
      { ...toolCallReply("final_answer", { answer: "42" }), delayMs: 50 },
    );
    const { runId } = await client.startRun("calc", { task: "6*7?", background: true });
    const seen: RunEvent[] = [];
    for await (const event of client.events(runId, { deltas: true })) seen.push(event);
    const labels = seen.map((e) =>
      e.type === "step" ? `step:${e.id}` : e.type === "delta" ? `delta:${e.stepNumber}` : e.type
    );
    const firstStep = labels.indexOf("step:1");
    assert.ok(labels.slice(0, firstStep).includes("delta:1"), labels.join(" "));
    assert.ok(labels.slice(firstStep).includes("delta:2"), labels.join(" "));
    assert.ok(labels.indexOf("delta:2") < labels.indexOf("step:2"), labels.join(" "));
    assert.equal(labels.at(-1), "end");
    const text = seen.flatMap((e) => e.type === "delta" && e.stepNumber === 1 && e.text ? [e.text] : []).join("");
    assert.equal(text, "Computing.");
    // Reconnecting replays the stored steps only: deltas are not stored.
    const again: RunEvent[] = [];
    for await (const event of client.events(runId, { lastEventId: 0, deltas: true })) again.push(event);
    assert.deepEqual(again.map((e) => e.type), ["step", "step", "step", "end"]);
    const run = await client.getRun(runId);
    assert.equal(run.finalAnswer, "42");
    assert.ok(!JSON.stringify(run).includes('"delta"'));
    // The typed client yields deltas only when asked.
    model.enqueue(
      { ...toolCallReply("final_answer", { answer: "7" }), delayMs: 150 },
    );
    const quiet = await client.startRun("calc", { task: "7?", background: true });
    const plain: RunEvent[] = [];
    for await (const event of client.events(quiet.runId)) plain.push(event);
    assert.deepEqual(plain.map((e) => e.type), ["step", "step", "step", "end"]);
  } finally {
    await app.close();
  }
}
