import assert from "node:assert/strict";
import { ToolCallingAgent } from "../../lib/mod.ts";
import { createSmolstep, MemoryStore } from "../../lib/server.ts";
import { functionModel } from "../support/function_model.ts";
import { HeldQueue } from "../support/held_queue.ts";
import { apiClient } from "../support/http_client.ts";

/**
 * A background run with a `callbackUrl` cancelled while no step holds it (between steps, or paused for input): its
 * result callback (status `cancelled`) is queued, as it is when a step's commit or the next step applies the
 * cancellation. Before, nothing ever sent it: the queued step found the run ended and the expiry watch stopped.
 */

Deno.test("cancel: a background run cancelled between steps queues its result callback, once", async () => {
  const queue = new HeldQueue();
  const smolstep = createSmolstep({
    agents: { a: new ToolCallingAgent({ name: "a", model: functionModel([]).model }) },
    store: new MemoryStore(),
    queue,
    webhookSecret: "whsec_cancel_callback",
    egress: { allowHosts: ["receiver.example"] },
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  try {
    const api = apiClient(`http://127.0.0.1:${server.addr.port}`);
    const callbackUrl = "https://receiver.example/hook";
    const { status, body: run } = await api.post("/v1/agents/a/runs", { task: "t", background: true, callbackUrl });
    assert.equal(status, 201, JSON.stringify(run));
    const cancelled = await api.post(`/v1/runs/${run.runId}/cancel`);
    assert.deepEqual([cancelled.status, cancelled.body.status], [200, "cancelled"]);
    assert.equal((await api.post(`/v1/runs/${run.runId}/cancel`)).status, 200, "cancelling twice answers the same");
    // The queued first step finds the run ended and does nothing.
    for (const message of [...queue.sent]) if (message.type === "step") await smolstep.handleQueueMessage(message);
    const callbacks = queue.sent.filter((message) => message.type === "callback");
    assert.deepEqual(callbacks, [{ type: "callback", runId: run.runId, attempt: 1 }]);
  } finally {
    await server.shutdown();
  }
});
