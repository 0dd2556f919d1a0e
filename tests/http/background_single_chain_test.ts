/**
 * A background run has one chain of step messages. A late watchdog copy (its step committed, the next step is being
 * retried after a model failure) queues the next step again, in case it was lost; the retry that comes back after
 * that step was taken finds a key not its own and stops, instead of queueing the step after it a second time. Real
 * app over loopback, real Deno KV (`:memory:`), the scripted model server, a loopback callback receiver; the queue
 * keeps what it is sent, and the test delivers it in the order under test.
 */
import assert from "node:assert/strict";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import type { QueueMessage } from "../../lib/server.ts";
import { echoTool } from "../support/approval_tools.ts";
import { serveFlakyBackground } from "../support/flaky_background_app.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const seqs = (messages: QueueMessage[]) => messages.map((message) => message.type === "step" && message.seq);

Deno.test("background single chain: a retry that comes back after a late watchdog's step queues nothing", async () => {
  const model = await startScriptedModelServer();
  model.enqueue(
    toolCallReply("echo", { text: "a" }),
    { status: 503, error: "busy" },
    toolCallReply("echo", { text: "b" }),
    toolCallReply("final_answer", { answer: "42" }),
  );
  const agent = new ToolCallingAgent({
    name: "a",
    model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
    tools: [echoTool],
  });
  const app = await serveFlakyBackground(agent);
  try {
    const [first] = app.queue.take("step");
    await app.handle(first); // step 1 commits; its watchdog copy, then the next step
    const [watchdog, second] = app.queue.take("step");
    assert.deepEqual([seqs([watchdog, second]), watchdog], [[0, 1], first]);

    await app.handle(second); // the model fails (503): the step is retried later
    const [secondWatchdog, retry] = app.queue.take("step");
    assert.deepEqual([secondWatchdog, retry], [second, { ...second, attempt: 2 }]);

    // The first step's watchdog copy comes late, while the run waits for the retry: it queues the second step again.
    await app.handle(watchdog);
    const [again] = app.queue.take("step");
    assert.equal(seqs([again])[0], 1);
    await app.handle(again); // step 2 commits; its watchdog copy, then the third step
    const [, third] = app.queue.take("step");
    assert.equal(seqs([third])[0], 2);

    // The retry (and the failed attempt's watchdog copy) find the run moved on by another message: nothing queued.
    await app.handle(retry);
    await app.handle(secondWatchdog);
    assert.deepEqual(app.queue.take("step"), [], "one chain");

    await app.handle(third);
    const run = (await app.api.get(`/v1/runs/${app.runId}`)).body;
    assert.deepEqual([run.status, run.finalAnswer], ["succeeded", "42"]);
    assert.equal(model.requests.length, 4, "each step called the model once, the failed attempt once more");
    assert.equal(await app.deliver(), 1);
    await app.receiver.waitForHits(1);
  } finally {
    await app.close();
    await model.close();
  }
});
