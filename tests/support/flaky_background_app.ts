import type { MultiStepAgent } from "../../lib/mod.ts";
import { type AppOptions, createSmolstep, type RunQueue } from "../../lib/server.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { startCallbackReceiver } from "./callback_receiver.ts";
import { FlakyQueue } from "./flaky_queue.ts";
import { apiClient } from "./http_client.ts";

/**
 * The app over a fresh in-memory Deno KV with agent `a`, served on loopback, and a background run of it with a result
 * callback to a loopback receiver. The queue is a `FlakyQueue` (sends are kept for the test to deliver, and can be
 * refused) unless `queue` is given (then `queue` and `deliver` of the result see nothing).
 */
export async function serveFlakyBackground(
  agent: MultiStepAgent,
  options: Partial<Pick<AppOptions, "lockTtlMs">> & {
    queue?: RunQueue;
    /** How the callback receiver answers (204 by default). */
    respond?: Parameters<typeof startCallbackReceiver>[0];
  } = {},
) {
  const kv = await Deno.openKv(":memory:");
  const receiver = startCallbackReceiver(options.respond);
  const queue = options.queue ?? new FlakyQueue();
  const flaky = queue instanceof FlakyQueue ? queue : new FlakyQueue();
  const store = new DenoKvStore(kv);
  const smolstep = createSmolstep({
    agents: { a: agent },
    store,
    queue,
    ...options.lockTtlMs ? { lockTtlMs: options.lockTtlMs } : {},
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
  const runId = run.runId as string;
  return {
    api,
    store,
    queue: flaky,
    receiver,
    runId,
    handle: smolstep.handleQueueMessage,
    /** The run as `GET /v1/runs/{id}` shows it. */
    run: async () => (await api.get(`/v1/runs/${runId}`)).body,
    /** Delivers every queued callback; returns how many were queued. */
    async deliver() {
      const callbacks = flaky.take("callback");
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
