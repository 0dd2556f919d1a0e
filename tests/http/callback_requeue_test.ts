/**
 * A background run ended by a request whose callback could not be queued (the request failed: 500) gets its callback
 * from the client's retry of that request, once: a cancel sent again, or an answer to its input sent again, finds the
 * run ended with its callback never queued and queues it. Real app over loopback, real Deno KV (`:memory:`), a queue
 * whose send of a callback throws once, a loopback receiver.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { tool, ToolCallingAgent } from "../../lib/mod.ts";
import { createSmolstep } from "../../lib/server.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { startCallbackReceiver } from "../support/callback_receiver.ts";
import { FlakyQueue } from "../support/flaky_queue.ts";
import { functionModel } from "../support/function_model.ts";
import { apiClient } from "../support/http_client.ts";

/** The app over a fresh in-memory Deno KV with agent `a` (its `publish` tool needs approval and runs `onPublish`). */
async function serve(replies: Parameters<typeof functionModel>[0], onPublish: () => Promise<unknown>) {
  const kv = await Deno.openKv(":memory:");
  const receiver = startCallbackReceiver();
  const queue = new FlakyQueue();
  const publish = tool({
    name: "publish",
    description: "Publishes a text.",
    inputs: z.object({ text: z.string() }),
    needsApproval: true,
    run: async () => (await onPublish(), "published"),
  });
  const smolstep = createSmolstep({
    agents: { a: new ToolCallingAgent({ name: "a", model: functionModel(replies).model, tools: [publish] }) },
    store: new DenoKvStore(kv),
    queue,
    retryDelayMs: 1,
    egress: { allowPrivateNetwork: true },
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  const api = apiClient(`http://127.0.0.1:${server.addr.port}`);
  const { body: run } = await api.post("/v1/agents/a/runs", {
    task: "t",
    background: true,
    callbackUrl: `${receiver.url}/done`,
  });
  return {
    api,
    queue,
    receiver,
    runId: run.runId as string,
    handle: smolstep.handleQueueMessage,
    /** Delivers every queued callback; returns how many were queued. */
    async deliver() {
      const callbacks = queue.take("callback");
      for (const message of callbacks) await smolstep.handleQueueMessage(message);
      return callbacks.length;
    },
    async close() {
      await server.shutdown();
      await receiver.close();
      kv.close();
    },
  };
}

Deno.test("callback requeue: an idle cancel whose callback could not be queued (500) queues it when the client sends the cancel again", async () => {
  const app = await serve([], () => Promise.resolve());
  try {
    app.queue.refuse("callback");
    const failed = await app.api.post(`/v1/runs/${app.runId}/cancel`);
    assert.equal(failed.status, 500);
    assert.equal((await app.api.get(`/v1/runs/${app.runId}`)).body.status, "cancelled");
    assert.equal(await app.deliver(), 0);

    const retried = await app.api.post(`/v1/runs/${app.runId}/cancel`);
    assert.deepEqual([retried.status, retried.body.status], [200, "cancelled"]);
    assert.equal(await app.deliver(), 1, "the retry queues the callback");
    await app.receiver.waitForHits(1);
    assert.equal(JSON.parse(app.receiver.bodies[0]).status, "cancelled");

    // Queued once: another cancel, the run's queued first step and its expiry watch queue nothing more.
    assert.equal((await app.api.post(`/v1/runs/${app.runId}/cancel`)).status, 200);
    for (const message of [...app.queue.take("step"), ...app.queue.take("expiry")]) await app.handle(message);
    assert.equal(await app.deliver(), 0);
    assert.equal(app.receiver.hits.length, 1);
  } finally {
    await app.close();
  }
});

Deno.test("callback requeue: an answer to a run's input that ended it, whose callback could not be queued (500), queues it when sent again", async () => {
  let cancel = (): Promise<unknown> => Promise.resolve();
  // The approved tool has the run cancelled while the answer's step holds it: that step's commit ends the run.
  const app = await serve([{ calls: [["publish", { text: "x" }]] }], () => cancel());
  try {
    cancel = () => app.api.post(`/v1/runs/${app.runId}/cancel`);
    for (const message of app.queue.take("step")) await app.handle(message);
    assert.equal((await app.api.get(`/v1/runs/${app.runId}`)).body.status, "awaiting_input");

    app.queue.refuse("callback");
    const failed = await app.api.post(`/v1/runs/${app.runId}/input`, { approve: true });
    assert.equal(failed.status, 500, JSON.stringify(failed.body));
    assert.equal((await app.api.get(`/v1/runs/${app.runId}`)).body.status, "cancelled");
    assert.equal(await app.deliver(), 0);

    const retried = await app.api.post(`/v1/runs/${app.runId}/input`, { approve: true });
    assert.deepEqual([retried.status, retried.body.error?.code], [409, "not_awaiting_input"]);
    assert.equal(await app.deliver(), 1, "the retry queues the callback");
    await app.receiver.waitForHits(1);
    assert.equal(JSON.parse(app.receiver.bodies[0]).status, "cancelled");

    assert.equal((await app.api.post(`/v1/runs/${app.runId}/input`, { approve: true })).status, 409);
    assert.equal((await app.api.post(`/v1/runs/${app.runId}/cancel`)).status, 200);
    assert.equal(await app.deliver(), 0, "queued once");
    assert.equal(app.receiver.hits.length, 1);
  } finally {
    await app.close();
  }
});

Deno.test("callback requeue: a background run a client steps to its end over HTTP gets its callback from its expiry watch, once", async () => {
  const app = await serve([{ calls: [["final_answer", { answer: "42" }]] }], () => Promise.resolve());
  try {
    // The step route queues nothing for a background run (its next step, its callback): that is the queue's job.
    const stepped = await app.api.post(`/v1/runs/${app.runId}/steps`);
    assert.deepEqual([stepped.status, stepped.body.status], [200, "succeeded"]);
    for (const message of app.queue.take("step")) await app.handle(message);
    assert.equal(await app.deliver(), 0);

    // The run's expiry watch (its next hop: at most 12 h away) finds it ended with no callback queued.
    const [watch] = app.queue.take("expiry");
    await app.handle(watch);
    assert.equal(await app.deliver(), 1);
    await app.receiver.waitForHits(1);
    assert.equal(JSON.parse(app.receiver.bodies[0]).finalAnswer, "42");
    await app.handle(watch);
    assert.equal(await app.deliver(), 0, "queued once");
  } finally {
    await app.close();
  }
});
