import assert from "node:assert/strict";
import { z } from "zod";
import { type ActionStep, tool, ToolCallingAgent } from "../../lib/mod.ts";
import { RunService } from "../../lib/runs/run_service.ts";
import { textOf } from "../../lib/models/chat_message.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";

Deno.test("large observations are stored by reference: a 100-step run stays small, the model reads them in full", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = new DenoKvStore(kv);
  const runs = new RunService(store);
  const pageText = (page: number) => `Page ${page}: ${"All work and no play makes Jack a dull boy. ".repeat(500)}`;
  const readPage = tool({
    name: "read_page",
    description: "Returns a long page.",
    inputs: z.object({ page: z.number().int() }),
    run: ({ page }) => pageText(page),
  });
  let lastSeen = "";
  let step = 0;
  const agent = new ToolCallingAgent({
    name: "reader",
    model: (messages) => {
      lastSeen = textOf(messages.at(-1)!.content);
      step++;
      const call = step <= 100
        ? { name: "read_page", arguments: { page: step } }
        : { name: "final_answer", arguments: { answer: "read" } };
      return { content: null, toolCalls: [{ id: `c${step}`, type: "function" as const, function: call }] };
    },
    tools: [readPage],
    maxSteps: 120,
    maxObservationChars: 100_000,
  });
  try {
    const { runId } = await runs.create("reader", agent.start("Read 100 pages."));
    for (let i = 0; i < 101; i++) await runs.step(runId, agent);
    const stored = await store.get(`runs/${runId}`);
    const record = JSON.parse(stored!.value);
    assert.equal(record.state.status, "succeeded");
    assert.ok(pageText(1).length > 20_000);
    // 100 observations of 20 KB each would be 2 MB inline; by reference the whole run record stays small.
    assert.ok(stored!.value.length < 150_000, `run record is ${stored!.value.length} characters`);
    const first = record.state.steps.find((s: ActionStep) => s.type === "action") as ActionStep;
    assert.match(first.observationsRef!, /^blob:sha256:[0-9a-f]{64};type=text\/plain$/);
    assert.match(first.observations!, /\.\.\.\[the full observation \(\d+ characters\) is stored as blob:sha256:/);
    assert.equal(await runs.blobsFor(runId).resolveText(first.observationsRef!), pageText(1));
    // The model was shown the full text of the previous observation, not the preview.
    assert.equal(lastSeen, `Observation:\n${pageText(100)}`);
  } finally {
    kv.close();
  }
});

Deno.test("without a blob store, observations stay inline", async () => {
  const agent = new ToolCallingAgent({
    model: () => ({
      content: null,
      toolCalls: [{ id: "c", type: "function", function: { name: "long", arguments: {} } }],
    }),
    tools: [tool({ name: "long", description: "x", inputs: z.object({}), run: () => "y".repeat(10_000) })],
  });
  const { state } = await agent.step(agent.start("x"));
  const action = state.steps[1] as ActionStep;
  assert.equal(action.observations, "y".repeat(10_000));
  assert.equal(action.observationsRef, undefined);
});
