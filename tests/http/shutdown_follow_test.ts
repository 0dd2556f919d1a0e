import assert from "node:assert/strict";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { createSmolstep, MemoryStore } from "../../lib/server.ts";
import { HeldQueue } from "../support/held_queue.ts";
import { startHungModelServer } from "../support/hung_model_server.ts";

/**
 * `Smolstep.shutdown` and the requests that only follow a background run (`POST /v1/chat/completions` with a queue):
 * once the steps are aborted, such a request answers 503 `shutting_down` with its run id and `x-should-retry: false`
 * (the run goes on in the next process), instead of hanging until the process exits and its connection is cut (which
 * an OpenAI client retries as a network error: a second run, a second bill).
 */

Deno.test("shutdown: a chat completion following a background run answers 503 shutting_down, not a cut", async () => {
  const model = startHungModelServer();
  const queue = new HeldQueue();
  const smolstep = createSmolstep({
    agents: {
      assistant: new ToolCallingAgent({
        name: "assistant",
        model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
      }),
    },
    store: new MemoryStore(),
    queue,
    lockTtlMs: 120_000,
    stepTimeoutMs: 60_000,
    events: { pollMs: 20 },
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  const client = new AbortController();
  try {
    const answer = fetch(`http://127.0.0.1:${server.addr.port}/v1/chat/completions`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ model: "assistant", messages: [{ role: "user", content: "hang" }] }),
      signal: client.signal,
    });
    for (let i = 0; i < 500 && queue.sent.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const [first] = queue.sent;
    assert.equal(first?.type, "step", "the run was started in the background");
    const handled = smolstep.handleQueueMessage(first);
    for (let i = 0; i < 500 && model.received === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(model.received, 1, "the background step reached the model");

    await smolstep.shutdown({ graceMs: 50 });
    await handled;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"still waiting">((resolve) => timer = setTimeout(() => resolve("still waiting"), 3_000));
    const response = await Promise.race([answer, late]);
    clearTimeout(timer);
    if (response === "still waiting") assert.fail("the request still follows a run this process gave up");
    const body = await response.json();
    assert.equal(response.status, 503, JSON.stringify(body));
    assert.equal(body.error.code, "shutting_down");
    assert.equal(response.headers.get("x-should-retry"), "false", "a retry would start a second run");
    assert.ok(response.headers.get("X-Smolstep-Run-Id"), "the answer names the run, which goes on elsewhere");
  } finally {
    client.abort();
    await server.shutdown();
    model.answerWith({ answer: "bye" });
    await model.close();
  }
});
