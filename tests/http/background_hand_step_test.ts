/**
 * A background run a client moves on over HTTP (`POST /v1/runs/{id}/steps`, or an answer to its input) goes on in the
 * background: the route queues what the runner would after that step (the next step, or the result callback once the
 * step ended the run), the chain's message pending at the old `seq` steps nothing, and the delayed copy the route
 * queued before the lock carries the run on when that follow-up could not be queued (500). Real app over loopback,
 * real Deno KV, the scripted model server, a loopback callback receiver; a queue that keeps what it is sent (and can
 * refuse a send), and real Deno KV queue delivery for the last test.
 */
import assert from "node:assert/strict";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { createSmolstep, type QueueMessage, type RunQueue } from "../../lib/server.ts";
import { DenoKvQueue } from "../../lib/adapters/deno/deno_kv_queue.ts";
import { deleteFileTool, echoTool } from "../support/approval_tools.ts";
import { serveFlakyBackground } from "../support/flaky_background_app.ts";
import { apiClient } from "../support/http_client.ts";
import { type ScriptedReply, startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const LOCK_TTL_MS = 1_500;
const echo = toolCallReply("echo", { text: "a" });
const finish = toolCallReply("final_answer", { answer: "42" });
/** A step message sent at once: what a step's commit queues next, not the delayed copy queued before its lock. */
const immediate = (message: QueueMessage, delayMs: number) => message.type === "step" && delayMs === 0;

/** A step message's id. */
const idOf = (message: QueueMessage) => (message as { id?: string }).id;

/** The app with agent `a` (the scripted model server with `replies`) and a background run of it with a callback. */
async function serve(replies: ScriptedReply[], queue?: RunQueue) {
  const model = await startScriptedModelServer();
  model.enqueue(...replies);
  const agent = new ToolCallingAgent({
    name: "a",
    model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
    tools: [deleteFileTool(), echoTool],
  });
  const app = await serveFlakyBackground(agent, { lockTtlMs: LOCK_TTL_MS, queue });
  return { ...app, agent, model, close: () => app.close().finally(() => model.close()) };
}

/** The run has ended with the final answer after two model calls, and its callback is sent. */
async function assertFinished(app: Awaited<ReturnType<typeof serve>>) {
  assert.equal((await app.run()).status, "succeeded");
  assert.equal(app.model.requests.length, 2, "each step called the model once");
  assert.equal(await app.deliver(), 1);
  await app.receiver.waitForHits(1);
  assert.equal(JSON.parse(app.receiver.bodies[0]).finalAnswer, "42");
}

Deno.test("background hand step: a client's step of a background run queues its next step; the chain's pending message steps nothing", async () => {
  const app = await serve([echo, finish]);
  try {
    const [chain] = app.queue.take("step"); // the run's first step, not delivered yet
    const stepped = await app.api.post(`/v1/runs/${app.runId}/steps`);
    assert.deepEqual([stepped.status, stepped.body.status, stepped.body.stepNumber], [200, "running", 1]);

    const [next, ...copies] = app.queue.take("step").sort((a, b) => app.queue.delayOf(a)! - app.queue.delayOf(b)!);
    const [copy, chainCopy, ...more] = copies.sort((a, b) =>
      b.type === "step" && a.type === "step" ? b.seq - a.seq : 0
    );
    assert.deepEqual([next, copy, chainCopy, more], [
      { type: "step", runId: app.runId, seq: 1, attempt: 1, id: idOf(next) }, // the next step, at once
      { type: "step", runId: app.runId, seq: 1, attempt: 1, id: idOf(copy) },
      { type: "step", runId: app.runId, seq: 0, attempt: 1, id: idOf(chainCopy) }, // the chain's, in case it was lost
      [],
    ]);
    assert.notEqual(idOf(copy), idOf(next), "the copy is a message of its own");
    assert.equal(app.queue.delayOf(next), 0);
    for (const late of [copy, chainCopy]) {
      assert.ok(app.queue.delayOf(late)! > LOCK_TTL_MS, "the copies arrive once the step's lock has expired");
    }

    await app.handle(chain);
    assert.equal(app.model.requests.length, 1, "the chain's message at the old seq steps nothing");
    assert.deepEqual(app.queue.take("step"), []);
    await app.handle(next);
    assert.equal((await app.run()).status, "succeeded");
    // The copies, and the watchdog copy the next step queued of itself.
    for (const message of [copy, chainCopy, ...app.queue.take("step")]) await app.handle(message);
    assert.deepEqual(app.queue.take("step"), [], "nothing stepped after the end");
    await assertFinished(app);
    for (const message of app.queue.take("expiry")) await app.handle(message);
    assert.equal(await app.deliver(), 0, "queued once");
  } finally {
    await app.close();
  }
});

Deno.test("background hand step: the delayed copy of a client's step never forks the run's chain of steps", async () => {
  const app = await serve([echo, echo, finish]);
  try {
    const [chain] = app.queue.take("step");
    assert.equal((await app.api.post(`/v1/runs/${app.runId}/steps`)).status, 200);
    const [next, copy] = app.queue.take("step").sort((a, b) => app.queue.delayOf(a)! - app.queue.delayOf(b)!);
    await app.handle(next); // the run's second step: its watchdog copy, then the third step
    const [watchdog, third] = app.queue.take("step");
    assert.deepEqual([watchdog, third], [next, { ...next, seq: 2, id: idOf(third) }]);

    // The copy (a late one, and the platform's redelivery of it) finds the run moved on: it queues nothing; nor does
    // the chain's message at the old seq.
    for (const message of [copy, copy, chain]) await app.handle(message);
    assert.deepEqual(app.queue.take("step"), [], "one message steps the run at each seq");
    await app.handle(third);
    assert.equal((await app.run()).status, "succeeded");
    assert.equal(app.model.requests.length, 3);
  } finally {
    await app.close();
  }
});

Deno.test("background hand step: a client's step that fails after the platform gave up on the chain's message (thrown back while the step held the lock) is carried on by its delayed copy", async () => {
  // The client's step: its model answers 500 after 300 ms (no commit); then the run's two steps.
  const app = await serve([{ status: 500, error: "down", delayMs: 300 }, echo, finish]);
  try {
    const [chain] = app.queue.take("step");
    const failing = app.api.post(`/v1/runs/${app.runId}/steps`);
    while (app.model.requests.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    // The chain's message comes while the client's step holds the lock: thrown back for the platform to redeliver,
    // which it does a few times, then gives up on it (here: at once).
    await assert.rejects(app.handle(chain), /in progress/);
    const failed = await failing;
    assert.ok(failed.status >= 500, JSON.stringify(failed.body));
    assert.deepEqual([(await app.run()).status, (await app.run()).stepNumber], ["running", 0], "no commit");

    // What is left on the queue (the delayed copies, once the lock would have expired) carries the run on.
    for (let round = 0; round < 5; round++) {
      for (const message of app.queue.take("step")) await app.handle(message);
    }
    assert.equal((await app.run()).status, "succeeded", "the run was left with no step message");
    assert.equal(app.model.requests.length, 3, "each of its two steps called the model once");
    assert.equal(await app.deliver(), 1);
  } finally {
    await app.close();
  }
});

Deno.test("background hand step: a client's step that ends a background run queues its result callback, once", async () => {
  const app = await serve([finish]);
  try {
    const stepped = await app.api.post(`/v1/runs/${app.runId}/steps`);
    assert.deepEqual([stepped.status, stepped.body.status], [200, "succeeded"]);
    assert.equal(await app.deliver(), 1, "queued by the step");
    await app.receiver.waitForHits(1);
    assert.equal(JSON.parse(app.receiver.bodies[0]).finalAnswer, "42");

    // The chain's first step message, the step's delayed copy and the run's expiry watch queue nothing more.
    for (const message of [...app.queue.take("step"), ...app.queue.take("expiry")]) await app.handle(message);
    assert.equal(await app.deliver(), 0);
    assert.equal(app.model.requests.length, 1);
    assert.equal(app.receiver.hits.length, 1);
  } finally {
    await app.close();
  }
});

Deno.test("background hand step: a client's step whose next step could not be queued (500) is carried on by its delayed copy", async () => {
  const app = await serve([echo, finish]);
  try {
    app.queue.refuse("step", 1, immediate);
    const failed = await app.api.post(`/v1/runs/${app.runId}/steps`);
    assert.equal(failed.status, 500, JSON.stringify(failed.body));
    const after = await app.run();
    assert.deepEqual([after.status, after.stepNumber], ["running", 1], "the step was committed");

    // The chain's message at the old seq, then the copy (once the step's lock has expired, on a real queue).
    for (const message of app.queue.take("step")) await app.handle(message);
    await assertFinished(app);
  } finally {
    await app.close();
  }
});

Deno.test("background hand step: a client's step that ended a background run, whose callback could not be queued (500), gets it from its delayed copy, once", async () => {
  const app = await serve([finish]);
  try {
    app.queue.refuse("callback");
    const failed = await app.api.post(`/v1/runs/${app.runId}/steps`);
    assert.equal(failed.status, 500, JSON.stringify(failed.body));
    assert.equal((await app.run()).status, "succeeded");
    assert.equal(await app.deliver(), 0);

    const steps = app.queue.take("step");
    for (const message of steps) await app.handle(message);
    assert.equal(await app.deliver(), 1, "the copy finds the run ended at its seq with no callback queued");
    await app.receiver.waitForHits(1);
    for (const message of steps) await app.handle(message);
    assert.equal(await app.deliver(), 0, "queued once");
  } finally {
    await app.close();
  }
});

Deno.test("background hand step: an answer to a background run's input whose next step could not be queued (500) is carried on by its delayed copy", async () => {
  const app = await serve([toolCallReply("delete_file", { path: "/x" }), finish]);
  try {
    for (const message of app.queue.take("step")) await app.handle(message);
    assert.equal((await app.run()).status, "awaiting_input");
    app.queue.take("step"); // that step's watchdog copy

    app.queue.refuse("step", 1, immediate);
    const failed = await app.api.post(`/v1/runs/${app.runId}/input`, { approve: true });
    assert.equal(failed.status, 500, JSON.stringify(failed.body));
    assert.equal((await app.run()).status, "running");
    const again = await app.api.post(`/v1/runs/${app.runId}/input`, { approve: true });
    assert.deepEqual([again.status, again.body.error?.code], [409, "not_awaiting_input"], "answered once");

    const steps = app.queue.take("step");
    assert.deepEqual(steps.map((message) => [message.type === "step" && message.seq, app.queue.delayOf(message)]), [
      [2, LOCK_TTL_MS + 1000],
    ]);
    await app.handle(steps[0]);
    await assertFinished(app);
  } finally {
    await app.close();
  }
});

Deno.test("background hand step: a server with no queue steps and answers a background run by hand, as a KV run", async () => {
  const app = await serve([toolCallReply("delete_file", { path: "/x" }), finish]);
  // The same store, served by an app without a queue (the deployer removed it).
  const bare = createSmolstep({ agents: { a: app.agent }, store: app.store });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, bare.app.fetch);
  const api = apiClient(`http://127.0.0.1:${server.addr.port}`);
  try {
    const stepped = await api.post(`/v1/runs/${app.runId}/steps`);
    assert.deepEqual([stepped.status, stepped.body.status], [200, "awaiting_input"], JSON.stringify(stepped.body));
    const answered = await api.post(`/v1/runs/${app.runId}/input`, { approve: true });
    assert.deepEqual([answered.status, answered.body.status], [200, "running"], JSON.stringify(answered.body));
    const last = await api.post(`/v1/runs/${app.runId}/steps`);
    assert.deepEqual([last.status, last.body.status, last.body.finalAnswer], [200, "succeeded", "42"]);
    assert.equal(app.model.requests.length, 2);
  } finally {
    await server.shutdown();
    await app.close();
  }
});

/** Deno KV's queue, refusing the next send `refuse` matches. */
class RefusingKvQueue implements RunQueue {
  constructor(readonly inner: DenoKvQueue, public refuse?: (message: QueueMessage, delayMs: number) => boolean) {}
  enqueue(message: QueueMessage, options?: { delayMs?: number }): Promise<void> {
    if (this.refuse?.(message, options?.delayMs ?? 0)) {
      this.refuse = undefined;
      return Promise.reject(new Error("queue down"));
    }
    return this.inner.enqueue(message, options);
  }
}

Deno.test("background hand step: on Deno KV's queue, an answer whose next step could not be queued (500) finishes the run once the step's lock expires", async () => {
  const kv = await Deno.openKv(":memory:");
  const inner = new DenoKvQueue(kv);
  const queue = new RefusingKvQueue(inner);
  const app = await serve([toolCallReply("delete_file", { path: "/x" }), finish], queue);
  const listening = inner.listen(app.handle);
  try {
    for (let i = 0; i < 200 && (await app.run()).status !== "awaiting_input"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.equal((await app.run()).status, "awaiting_input");
    queue.refuse = immediate;
    const answered = Date.now();
    const failed = await app.api.post(`/v1/runs/${app.runId}/input`, { approve: true });
    assert.equal(failed.status, 500, JSON.stringify(failed.body));
    assert.equal((await app.run()).status, "running");

    await app.receiver.waitForHits(1, 20_000);
    assert.ok(Date.now() - answered > LOCK_TTL_MS, "carried on by the delayed copy");
    const run = await app.run();
    assert.deepEqual([run.status, run.finalAnswer], ["succeeded", "42"]);
    assert.equal(JSON.parse(app.receiver.bodies[0]).status, "succeeded");
    assert.equal(app.model.requests.length, 2);
  } finally {
    await app.close();
    kv.close();
    await listening;
  }
});
