/**
 * A background run that ends outside its step's commit (its attempts given up, `state_too_large`, a cancel flag
 * applied as a step begins, the expiry watch) and whose result callback could not be queued still gets it, once: the
 * step message that ended it, coming back (the platform's redelivery after the handler threw, or its watchdog copy),
 * finds the run ended with its callback never queued and queues it; a callback that was queued is not queued again.
 * Real Deno KV (`:memory:`), a queue whose send of a callback throws once, a loopback receiver.
 */
import assert from "node:assert/strict";
import { ModelError, type ModelFunction, ToolCallingAgent } from "../../lib/mod.ts";
import type { QueueMessage } from "../../lib/server.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { BackgroundRunner } from "../../lib/runs/background_runner.ts";
import { createRunForDelivery } from "../../lib/runs/delivery_runs.ts";
import { RunService } from "../../lib/runs/run_service.ts";
import { deleteFileTool } from "../support/approval_tools.ts";
import { startCallbackReceiver } from "../support/callback_receiver.ts";
import { FlakyQueue } from "../support/flaky_queue.ts";
import { functionModel } from "../support/function_model.ts";

const down = () => new ModelError("model down", { status: 503, retryable: true });

/** A run service over a fresh in-memory Deno KV, a runner for agent `a`, and a callback receiver. */
async function setup(model: ModelFunction, options: { maxAttempts?: number; maxRecordBytes?: number } = {}) {
  const kv = await Deno.openKv(":memory:");
  const receiver = startCallbackReceiver();
  const runs = new RunService(new DenoKvStore(kv), { maxRecordBytes: options.maxRecordBytes, lockTtlMs: 60_000 });
  const queue = new FlakyQueue();
  const agent = new ToolCallingAgent({ name: "a", model, tools: [deleteFileTool()] });
  const runner = new BackgroundRunner({
    runs,
    queue,
    agents: { a: agent },
    retryDelayMs: 1,
    maxAttempts: options.maxAttempts ?? 1,
    egress: { allowPrivateNetwork: true },
  });
  const create = async () => {
    const record = await runs.create("a", agent.start("t"), { background: true, callbackUrl: `${receiver.url}/done` });
    await runner.start(record);
    queue.take("expiry");
    return record.runId;
  };
  /** Delivers every queued callback; returns how many were queued. */
  const deliver = async () => {
    const callbacks = queue.take("callback");
    for (const message of callbacks) await runner.handle(message);
    return callbacks.length;
  };
  const close = async () => {
    await receiver.close();
    kv.close();
  };
  return { runs, queue, runner, receiver, create, deliver, close };
}

type App = Awaited<ReturnType<typeof setup>>;

/**
 * `message` ends the run while the queue refuses its callback (the handler throws: the platform redelivers), then
 * comes back: the callback is queued and sent once, and nothing else (the same message again, its watchdog copy,
 * an expiry watch) queues it again.
 */
async function endsThenComesBack(app: App, runId: string, message: QueueMessage, status: string) {
  app.queue.refuse("callback");
  await assert.rejects(app.runner.handle(message), /queue down/);
  assert.equal((await app.runs.get(runId))?.record.state.status, status);
  assert.deepEqual(app.queue.take("callback"), [], "the callback could not be queued");

  await app.runner.handle(message); // the platform's redelivery
  assert.equal(await app.deliver(), 1, "the redelivery queues the callback");
  await app.receiver.waitForHits(1);
  assert.equal(JSON.parse(app.receiver.bodies[0]).status, status);

  for (const again of [message, ...app.queue.take("step")]) await app.runner.handle(again);
  await app.runner.handle({ type: "expiry", runId, seq: 0 });
  assert.equal(await app.deliver(), 0, "a callback that was queued is not queued again");
  assert.equal(app.receiver.hits.length, 1);
}

Deno.test("callback recovery: background attempts given up, queueing the callback fails, the redelivery queues it", async () => {
  const app = await setup(functionModel([down()]).model);
  try {
    const runId = await app.create();
    const [step] = app.queue.take("step");
    await endsThenComesBack(app, runId, step, "failed");
  } finally {
    await app.close();
  }
});

Deno.test("callback recovery: a step too large to commit ends the run, queueing the callback fails, the redelivery queues it", async () => {
  // The paused step keeps the call's arguments in full (they run once approved): too large to commit.
  const { model } = functionModel([{ calls: [["delete_file", { path: "p".repeat(30_000) }]] }]);
  const app = await setup(model, { maxRecordBytes: 20_000 });
  try {
    const runId = await app.create();
    const [step] = app.queue.take("step");
    await endsThenComesBack(app, runId, step, "failed");
    assert.equal((await app.runs.get(runId))?.record.state.error?.type, "StateTooLargeError");
  } finally {
    await app.close();
  }
});

Deno.test("callback recovery: a cancel flag applied as the next attempt begins, queueing the callback fails, the redelivery queues it", async () => {
  let runId = "";
  let cancel: () => Promise<unknown> = () => Promise.resolve();
  // The first attempt is cancelled while it holds the lock (the flag is written), then fails: the run is unchanged.
  const model: ModelFunction = async () => {
    await cancel();
    throw down();
  };
  const app = await setup(model, { maxAttempts: 2 });
  try {
    runId = await app.create();
    cancel = () => app.runs.cancel(runId);
    const [first] = app.queue.take("step");
    await app.runner.handle(first);
    assert.equal((await app.runs.get(runId))?.record.state.status, "running");
    const retry = app.queue.take("step").find((message) => message.type === "step" && message.attempt === 2)!;
    assert.ok(retry, "the failed attempt is retried");
    await endsThenComesBack(app, runId, retry, "cancelled");
  } finally {
    await app.close();
  }
});

Deno.test("callback recovery: a run whose end queued no callback and no retry came gets it from its expiry watch", async () => {
  const app = await setup(functionModel([down()]).model);
  try {
    const runId = await app.create();
    const [step] = app.queue.take("step");
    app.queue.refuse("callback");
    await assert.rejects(app.runner.handle(step), /queue down/);
    // No redelivery (the platform gave up on the message): the run's next expiry watch finds it ended.
    await app.runner.handle({ type: "expiry", runId, seq: 0 });
    assert.equal(await app.deliver(), 1);
    await app.receiver.waitForHits(1);
    assert.equal(JSON.parse(app.receiver.bodies[0]).status, "failed");
    await app.runner.handle({ type: "expiry", runId, seq: 0 });
    await app.runner.handle(step);
    assert.equal(await app.deliver(), 0);
  } finally {
    await app.close();
  }
});

Deno.test("callback recovery: a webhook's run that could not be started sends no callback, even when its first step comes back", async () => {
  const app = await setup(functionModel([]).model);
  try {
    const agent = new ToolCallingAgent({ name: "a", model: functionModel([]).model });
    const created = createRunForDelivery(app.runs, "a", agent.start("t"), {
      replayKey: "delivery-1",
      windowSeconds: 60,
      callbackUrl: `${app.receiver.url}/done`,
      // Its first step is queued, then the expiry watch is refused: the run is ended failed and the claim released.
      start: async (record) => {
        await app.queue.enqueue({ type: "step", runId: record.runId, seq: record.seq, attempt: 1 });
        throw new Error("queue down");
      },
    });
    await assert.rejects(created, /queue down/);
    const [step] = app.queue.take("step");
    await app.runner.handle(step);
    assert.equal(await app.deliver(), 0, "the sender's retry starts the run that reports");
  } finally {
    await app.close();
  }
});

// With the defaults (idleRunTtlSeconds = runTtlSeconds = 7 days) the marks of an expired run used to be written to
// expire a second later (`runTtlSeconds` after its last change, already past), so a watch or a callback delivered again
// would send it again; here they would go `idleRunTtlSeconds` (2 s) before the record.
Deno.test("callback recovery: an expired run's callback marks are kept as long as the run", async () => {
  const kv = await Deno.openKv(":memory:");
  const receiver = startCallbackReceiver();
  const store = new DenoKvStore(kv);
  const runs = new RunService(store, { idleRunTtlSeconds: 2, runTtlSeconds: 3_600 });
  const queue = new FlakyQueue();
  const agent = new ToolCallingAgent({ name: "a", model: functionModel([]).model });
  const runner = new BackgroundRunner({ runs, queue, agents: { a: agent }, egress: { allowPrivateNetwork: true } });
  try {
    const record = await runs.create("a", agent.start("t"), { background: true, callbackUrl: `${receiver.url}/done` });
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    assert.equal((await runs.get(record.runId))?.record.state.status, "expired");
    await runner.handle({ type: "expiry", runId: record.runId, seq: 0 });
    const [callback] = queue.take("callback");
    await runner.handle(callback);
    await receiver.waitForHits(1);
    const keys = (await store.list(`runs/${record.runId}`)).keys;
    const expiry = (key: string) => keys.find((entry) => entry.key === key)?.expiresAt ?? 0;
    const runExpiry = expiry(`runs/${record.runId}`);
    assert.ok(runExpiry > Date.now() + 3_500_000, "the record is kept runTtlSeconds after it reads as expired");
    for (const mark of ["callback", "callback-queued"]) {
      assert.ok(expiry(`runs/${record.runId}/${mark}`) >= runExpiry - 200, `${mark} goes with the record`);
    }
    await runner.handle({ type: "expiry", runId: record.runId, seq: 0 });
    assert.deepEqual(queue.take("callback"), [], "a watch delivered again queues nothing");
  } finally {
    await receiver.close();
    kv.close();
  }
});

Deno.test("callback recovery: a cancel that ends the run just before its given-up step fails it leaves one callback queued", async () => {
  const app = await setup(functionModel([down()]).model);
  try {
    const runId = await app.create();
    // The cancel request lands once the failed step has let go of the run, before the runner ends it `failed`: it
    // ends the run and queues its callback (as POST /v1/runs/{id}/cancel does), and `fail` finds the run ended.
    const fail = app.runs.fail.bind(app.runs);
    app.runs.fail = async (id, error) => {
      await app.runs.cancel(id, { onCancelled: (ended) => app.runner.continue(ended) });
      return await fail(id, error);
    };
    const [step] = app.queue.take("step");
    await app.runner.handle(step);
    assert.equal((await app.runs.get(runId))?.record.state.status, "cancelled");
    assert.equal(await app.deliver(), 1, "queued once, by the cancel");
    await app.receiver.waitForHits(1);
    assert.equal(app.receiver.hits.length, 1);
  } finally {
    await app.close();
  }
});
