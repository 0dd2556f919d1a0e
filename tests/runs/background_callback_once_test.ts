/**
 * A background run's result callback is never lost and sent once: when queueing it after the final commit fails (the
 * queue refused it, or the process died before queueing it), the step message that comes back (the platform's
 * redelivery, or the watchdog copy every step leaves) queues it again; a callback queued twice is sent once.
 */
import assert from "node:assert/strict";
import { ToolCallingAgent } from "../../lib/mod.ts";
import { MemoryStore } from "../../lib/server.ts";
import { BackgroundRunner } from "../../lib/runs/background_runner.ts";
import { RunService } from "../../lib/runs/run_service.ts";
import { startCallbackReceiver } from "../support/callback_receiver.ts";
import { FlakyQueue } from "../support/flaky_queue.ts";

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

for (const failure of ["throw", "crash"] as const) {
  Deno.test(`background callback: queueing it after the final commit ${failure === "throw" ? "fails" : "never happens (the process dies)"}, and it is still sent once`, async () => {
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
      // The final step commits; queueing its callback fails (the handler throws: the platform redelivers), or never
      // happens: the process dies while sending it (the send never returns, the handler is abandoned).
      if (failure === "throw") {
        queue.refuse("callback");
        await assert.rejects(runner.handle(step), /queue down/);
      } else {
        queue.hang("callback");
        void runner.handle(step);
        while ((await runs.get(record.runId))?.record.state.status !== "succeeded") {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        queue.hang(undefined);
      }
      assert.equal((await runs.get(record.runId))?.record.state.status, "succeeded");
      assert.deepEqual(queue.take("callback"), []);

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
