/**
 * A background run ended by a request whose callback could not be queued (the request failed: 500) gets its callback
 * from the client's retry of that request, once: a cancel sent again, or an answer to its input sent again, finds the
 * run ended with its callback never queued and queues it. Real app over loopback, real Deno KV (`:memory:`), a queue
 * whose send of a callback throws once, a loopback receiver.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { tool, ToolCallingAgent } from "../../lib/mod.ts";
import { serveFlakyBackground } from "../support/flaky_background_app.ts";
import { functionModel } from "../support/function_model.ts";

/** The app over a fresh in-memory Deno KV with agent `a` (its `publish` tool needs approval and runs `onPublish`). */
function serve(replies: Parameters<typeof functionModel>[0], onPublish: () => Promise<unknown>) {
  const publish = tool({
    name: "publish",
    description: "Publishes a text.",
    inputs: z.object({ text: z.string() }),
    needsApproval: true,
    run: async () => (await onPublish(), "published"),
  });
  return serveFlakyBackground(
    new ToolCallingAgent({ name: "a", model: functionModel(replies).model, tools: [publish] }),
  );
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

Deno.test("callback requeue: a cancel sent again while the first is still queueing the callback queues it too; it is sent once", async () => {
  const app = await serve([], () => Promise.resolve());
  try {
    // The cancel that ends the run is slow to queue its callback (not yet marked queued); the client sends it again,
    // which finds the run cancelled with no mark, and queues the callback too.
    app.queue.hold("callback");
    const first = app.api.post(`/v1/runs/${app.runId}/cancel`);
    while (app.queue.held < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    const again = app.api.post(`/v1/runs/${app.runId}/cancel`);
    while (app.queue.held < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    app.queue.release();
    for (const cancel of [await first, await again]) {
      assert.deepEqual([cancel.status, cancel.body.status], [200, "cancelled"]);
    }
    const callbacks = app.queue.take("callback");
    assert.equal(callbacks.length, 2);

    // Delivered at once, as a Workers queue consumer handles a batch (and Deno KV's listener, messages in flight).
    await Promise.all(callbacks.map((message) => app.handle(message)));
    for (const message of app.queue.take("callback")) await app.handle(message); // one put off while the other sent
    await app.receiver.waitForHits(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(app.receiver.hits.length, 1, "sent once");
  } finally {
    await app.close();
  }
});
