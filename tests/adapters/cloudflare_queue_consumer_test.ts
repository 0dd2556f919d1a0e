import assert from "node:assert/strict";
import {
  consumeQueueBatch,
  QUEUE_RETRY_DELAY_SECONDS,
  type WorkersQueueMessage,
} from "../../lib/adapters/cloudflare/queue_consumer.ts";
import type { QueueMessage } from "../../lib/runs/run_queue.ts";

/** A Workers queue `Message` that records what the consumer did with it. */
class FakeMessage implements WorkersQueueMessage {
  readonly outcomes: Array<"ack" | { retry: { delaySeconds?: number } | undefined }> = [];
  constructor(readonly body: unknown) {}
  ack(): void {
    this.outcomes.push("ack");
  }
  retry(options?: { delaySeconds?: number }): void {
    this.outcomes.push({ retry: options });
  }
}

const step = (runId: string, seq = 0): QueueMessage => ({ type: "step", runId, seq, attempt: 1 });

Deno.test("Workers queue consumer (consumeQueueBatch)", async (t) => {
  await t.step("a handled message is acked, once", async () => {
    const message = new FakeMessage(step("r1"));
    const handled: QueueMessage[] = [];
    await consumeQueueBatch({ messages: [message] }, (body) => Promise.resolve(void handled.push(body)));
    assert.deepEqual(handled, [step("r1")]);
    assert.deepEqual(message.outcomes, ["ack"]);
  });

  await t.step("a handler that throws retries the message after the retry delay, not acked", async () => {
    const message = new FakeMessage({ type: "callback", runId: "r1", attempt: 2 });
    await consumeQueueBatch({ messages: [message] }, () => Promise.reject(new Error("step_in_progress")));
    assert.deepEqual(message.outcomes, [{ retry: { delaySeconds: QUEUE_RETRY_DELAY_SECONDS } }]);
    assert.equal(QUEUE_RETRY_DELAY_SECONDS, 2);
  });

  await t.step("the retry delay can be set", async () => {
    const message = new FakeMessage(step("r1"));
    await consumeQueueBatch({ messages: [message] }, () => Promise.reject(new Error("x")), { retryDelaySeconds: 7 });
    assert.deepEqual(message.outcomes, [{ retry: { delaySeconds: 7 } }]);
  });

  await t.step("a body smolstep did not write is acked (dropped) without reaching the handler", async () => {
    const foreign = [null, "step", { type: "step", runId: "r1", attempt: 1 }, { type: "other", runId: "r", attempt: 1 }]
      .map((body) => new FakeMessage(body));
    let calls = 0;
    await consumeQueueBatch({ messages: foreign }, () => Promise.resolve(void calls++));
    assert.equal(calls, 0);
    for (const message of foreign) assert.deepEqual(message.outcomes, ["ack"]);
  });

  await t.step(
    "the batch's messages are handled at once; a failure stops no other; resolves when all are done",
    async () => {
      const messages = [step("a"), step("b"), step("c")].map((body) => new FakeMessage(body));
      const log: string[] = [];
      const release = Promise.withResolvers<void>();
      const consumed = consumeQueueBatch({ messages }, async (body) => {
        log.push(`start ${body.runId}`);
        await release.promise;
        log.push(`end ${body.runId}`);
        if (body.runId === "b") throw new Error("transient");
      });
      let finished = false;
      void consumed.then(() => finished = true);
      await new Promise((resolve) => setTimeout(resolve, 10));
      assert.deepEqual(log, ["start a", "start b", "start c"], "all three started before any ended");
      assert.equal(finished, false);
      assert.deepEqual(messages.map((m) => m.outcomes), [[], [], []]);
      release.resolve();
      await consumed;
      assert.deepEqual(messages.map((m) => m.outcomes), [["ack"], [{ retry: { delaySeconds: 2 } }], ["ack"]]);
    },
  );

  await t.step("a handler that throws synchronously is retried too; the consumer itself never throws", async () => {
    const message = new FakeMessage(step("r1"));
    await consumeQueueBatch({ messages: [message] }, () => {
      throw new Error("sync");
    });
    assert.deepEqual(message.outcomes, [{ retry: { delaySeconds: 2 } }]);
  });
});
