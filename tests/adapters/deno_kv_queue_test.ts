import assert from "node:assert/strict";
import { join } from "node:path";
import { DenoKvQueue } from "../../lib/adapters/deno/deno_kv_queue.ts";
import type { QueueMessage } from "../../lib/runs/run_queue.ts";

/**
 * What `DenoKvQueue` does with a handler that throws: the throw reaches Deno KV, which delivers the message again
 * after its backoff (0.1 s, then 1 s, 5 s, 30 s, 60 s; then it is dropped). A message is acknowledged only by a
 * handler that returns. (A message whose handler was still running when its process exited stays leased: the next
 * process on the file takes it back at its start or in its sweep a minute later, once the lease has run out; that is
 * why a step aborted by a shutdown queues its message again itself: lib/runs/background_runner.ts.)
 */
Deno.test("DenoKvQueue: a handler that throws gets the same message again; one that returns acknowledges it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smolstep-kv-queue-" });
  const kv = await Deno.openKv(join(dir, "kv.sqlite3"));
  try {
    const queue = new DenoKvQueue(kv);
    const deliveries: QueueMessage[] = [];
    let acknowledged!: () => void;
    const done = new Promise<void>((resolve) => acknowledged = resolve);
    const listening = queue.listen((message) => {
      deliveries.push(message);
      if (deliveries.length === 1) return Promise.reject(new Error("not now"));
      acknowledged();
      return Promise.resolve();
    });
    const message: QueueMessage = { type: "step", runId: "r1", seq: 3, attempt: 1 };
    await queue.enqueue(message);
    await done;
    assert.deepEqual(deliveries, [message, message]);
    // Acknowledged: not delivered a third time (Deno KV's next retry would come 1 s after the second delivery).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(deliveries.length, 2);
    kv.close();
    await listening;
  } finally {
    try {
      kv.close();
    } catch { /* closed */ }
    await Deno.remove(dir, { recursive: true });
  }
});
