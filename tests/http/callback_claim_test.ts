/**
 * A result callback queued twice (a retry racing the request it retries, between its queue send and its mark) is sent
 * once even when both deliveries run at the same moment: each attempt claims the run's callback first, a delivery
 * that finds it claimed looks again once that attempt has ended, a failed attempt gives its claim back for its retry,
 * and a claim left by a process that died runs out. Real app over loopback, real Deno KV (`:memory:`), a loopback
 * receiver; the queue keeps what it is sent, and the test delivers it.
 */
import assert from "node:assert/strict";
import { ToolCallingAgent } from "../../lib/mod.ts";
import type { QueueMessage } from "../../lib/server.ts";
import { CallbackMarks } from "../../lib/runs/callback_marks.ts";
import { RunLifecycle } from "../../lib/runs/run_lifecycle.ts";
import type { startCallbackReceiver } from "../support/callback_receiver.ts";
import { serveFlakyBackground } from "../support/flaky_background_app.ts";
import { functionModel } from "../support/function_model.ts";

const DEFAULT_CALLBACK_TIMEOUT_MS = 10_000;

/** A background run with a callback, cancelled over HTTP (which queues its callback); the callback message. */
async function cancelled(respond?: Parameters<typeof startCallbackReceiver>[0]) {
  const app = await serveFlakyBackground(new ToolCallingAgent({ name: "a", model: functionModel([]).model }), {
    respond,
  });
  assert.equal((await app.api.post(`/v1/runs/${app.runId}/cancel`)).status, 200);
  const [callback] = app.queue.take("callback");
  assert.ok(callback);
  return { app, callback };
}

Deno.test("callback claim: a callback queued twice and delivered twice at the same moment is sent once", async () => {
  let answered = 0;
  // The receiver takes a moment, so both deliveries are in flight together.
  const { app, callback } = await cancelled(async () => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    answered++;
    return new Response(null, { status: 204 });
  });
  try {
    await Promise.all([app.handle(callback), app.handle(structuredClone(callback))]);
    assert.equal(app.receiver.hits.length, 1, "one POST");
    assert.equal(answered, 1);
    const [later] = app.queue.take("callback");
    assert.deepEqual(later, callback, "the other delivery looks again later");
    assert.ok(app.queue.delayOf(later)! > DEFAULT_CALLBACK_TIMEOUT_MS, "once the attempt would have ended");
    await app.handle(later);
    assert.deepEqual(app.queue.take("callback"), []);
    assert.equal(app.receiver.hits.length, 1, "settled: sent once");
  } finally {
    await app.close();
  }
});

Deno.test("callback claim: a failed attempt gives its claim back, and its retry sends the callback", async () => {
  let failures = 1;
  const { app, callback } = await cancelled(() => new Response(null, { status: failures-- > 0 ? 500 : 204 }));
  try {
    await app.handle(callback);
    const [retry] = app.queue.take("callback") as Array<Extract<QueueMessage, { type: "callback" }>>;
    assert.equal(retry.attempt, 2);
    await app.handle(retry);
    assert.equal(app.receiver.hits.length, 2, "the retry was sent");
    assert.deepEqual(app.queue.take("callback"), []);
    await app.handle(retry);
    await app.handle(callback);
    assert.equal(app.receiver.hits.length, 2, "settled once sent");
  } finally {
    await app.close();
  }
});

Deno.test("callback claim: a claim left by a process that died runs out, and the callback is sent", async () => {
  const { app, callback } = await cancelled();
  try {
    // An attempt claimed the callback and its process died: no settle, no release.
    const marks = new CallbackMarks(app.store, new RunLifecycle());
    assert.ok(typeof await marks.claim(app.runId, 300) === "object", "claimed");
    await app.handle(callback);
    assert.equal(app.receiver.hits.length, 0, "claimed: not sent meanwhile");
    const [later] = app.queue.take("callback");
    await new Promise((resolve) => setTimeout(resolve, 400));
    await app.handle(later);
    assert.equal(app.receiver.hits.length, 1);
    assert.equal(JSON.parse(app.receiver.bodies[0]).status, "cancelled");
    assert.equal(await marks.claim(app.runId, 300), "settled");
  } finally {
    await app.close();
  }
});
