/**
 * A background run's result callback is never lost and sent once: when queueing it after the final commit fails (the
 * queue refused it, or the process died before queueing it), the step message that comes back (the platform's
 * redelivery, or the watchdog copy every step leaves) queues it again; a callback queued twice is sent once.
 */
import assert from "node:assert/strict";
import { ToolCallingAgent } from "../../lib/mod.ts";
import { MemoryStore, type QueueMessage, type RunQueue } from "../../lib/server.ts";
import { BackgroundRunner } from "../../lib/runs/background_runner.ts";
import { RunService } from "../../lib/runs/run_service.ts";
import { startCallbackReceiver } from "../support/callback_receiver.ts";

/** Keeps what is sent; callback messages are refused (`throw`) or silently lost (`drop`) while `callbacks` says so. */
class FlakyQueue implements RunQueue {
  readonly sent: QueueMessage[] = [];
  callbacks: "throw" | "drop" | "keep" = "keep";
  enqueue(message: QueueMessage): Promise<void> {
    if (message.type === "callback" && this.callbacks === "throw") return Promise.reject(new Error("queue down"));
    if (message.type !== "callback" || this.callbacks === "keep") this.sent.push(message);
    return Promise.resolve();
  }
  take(type: QueueMessage["type"]): QueueMessage[] {
    const taken = this.sent.filter((message) => message.type === type);
    this.sent.splice(0, this.sent.length, ...this.sent.filter((message) => message.type !== type));
    return taken;
  }
}

const answering = () =>
  new ToolCallingAgent({
    name: "quick",
    maxSteps: 3,
    model: () =>
      Promise.resolve({
        role: "assistant" as const,
        content: null,
        toolCalls: [{
          id: "c1",
          type: "function" as const,
          function: { name: "final_answer", arguments: { answer: "42" } },
        }],
      }),
  });

for (const failure of ["throw", "drop"] as const) {
  Deno.test(`background callback: queueing it after the final commit ${failure === "throw" ? "fails" : "is lost"}, and it is still sent once`, async () => {
    const receiver = startCallbackReceiver();
    const agent = answering();
    const runs = new RunService(new MemoryStore());
    const queue = new FlakyQueue();
    const runner = new BackgroundRunner({
      runs,
      queue,
      agents: { quick: agent },
      retryDelayMs: 1,
      egress: { allowPrivateNetwork: true },
    });
    try {
      const record = await runs.create("quick", agent.start("answer"), {
        background: true,
        callbackUrl: `${receiver.url}/done`,
      });
      await runner.start(record);
      const [step] = queue.take("step");
      queue.callbacks = failure;
      // The final step commits; queueing its callback fails (the handler throws: the platform redelivers) or is lost.
      if (failure === "throw") await assert.rejects(runner.handle(step), /queue down/);
      else await runner.handle(step);
      assert.equal((await runs.get(record.runId))?.record.state.status, "succeeded");
      assert.deepEqual(queue.take("callback"), []);
      queue.callbacks = "keep";

      // The same step message again: the watchdog copy the step queued before its lock (and, after a throw, the
      // platform's redelivery) finds the run ended with no callback settled, and queues it.
      const copies = queue.take("step");
      assert.equal(copies.length, 1, "the watchdog copy");
      await runner.handle(copies[0]);
      const callbacks = queue.take("callback");
      assert.equal(callbacks.length, 1);
      await runner.handle(callbacks[0]);
      await receiver.waitForHits(1);
      assert.equal(JSON.parse(receiver.bodies[0]).status, "succeeded");

      // Sent once: the callback queued twice, or the step message once more, sends nothing more.
      await runner.handle(callbacks[0]);
      await runner.handle(copies[0]);
      assert.deepEqual(queue.take("callback"), [], "a settled callback is not queued again");
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(receiver.hits.length, 1);
    } finally {
      await receiver.close();
    }
  });
}
