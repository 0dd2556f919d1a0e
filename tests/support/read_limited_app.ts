/**
 * An app whose followers have a read limit (`events.maxReads`), for the follow-limit tests: the app under test
 * serves HTTP on loopback over a real Deno KV behind a read counter, and its background runs are stepped only when a
 * test says so (`stepOnce`), by a second app on the same database through its own, uncounted handle. So every read
 * the counter sees is one a request of the first app made, and each request's reads are recorded (`requests`): a
 * follower's reads, the one thing the limit is about (on Workers each is a subrequest).
 */
import { type AppOptions, createLogger, createSmolstep, type QueueMessage, type RunQueue } from "../../lib/server.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { mcpServer } from "../../lib/mcp/server/mod.ts";
import { countingDenoKv } from "./round_trip_counter.ts";

/** A queue that delivers nothing by itself: the step messages wait for `stepOnce` (delayed copies are dropped). */
class HandQueue implements RunQueue {
  readonly waiting: QueueMessage[] = [];
  enqueue(message: QueueMessage, options?: { delayMs?: number }): Promise<void> {
    if (!options?.delayMs) this.waiting.push(message);
    return Promise.resolve();
  }
}

/** One request the app under test answered: its method and path, and the store reads it made until its body ended. */
export interface CountedRequest {
  method: string;
  path: string;
  lastEventId: string | null;
  reads: number;
}

export async function serveReadLimited(
  agents: AppOptions["agents"],
  { maxReads, pollMs = 20 }: { maxReads: number; pollMs?: number },
) {
  const path = await Deno.makeTempFile({ suffix: ".sqlite" });
  const counted = countingDenoKv(await Deno.openKv(path));
  const stepperKv = await Deno.openKv(path);
  const queue = new HandQueue();
  const app = createSmolstep({
    agents,
    store: new DenoKvStore(counted.kv),
    queue,
    events: { pollMs, maxReads },
    plugins: [mcpServer()],
    logger: createLogger({ level: "off" }),
  });
  const stepper = createSmolstep({ agents, store: new DenoKvStore(stepperKv), queue, retryDelayMs: 5 });
  const requests: CountedRequest[] = [];
  const serve = async (request: Request) => {
    const start = counted.trips.reads;
    const url = new URL(request.url);
    const entry = {
      method: request.method,
      path: url.pathname,
      lastEventId: request.headers.get("Last-Event-ID"),
      reads: 0,
    };
    requests.push(entry);
    const response = await app.app.fetch(request);
    const done = () => void (entry.reads = counted.trips.reads - start);
    if (!response.body) return (done(), response);
    const body = response.body.pipeThrough(new TransformStream({ flush: done }));
    return new Response(body, { status: response.status, headers: response.headers });
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, serve);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    /** Takes the next step of the background run `runId` (false when no step message of it waits). */
    async stepOnce(runId: string): Promise<boolean> {
      const index = queue.waiting.findIndex((message) => message.type === "step" && message.runId === runId);
      if (index < 0) return false;
      const [message] = queue.waiting.splice(index, 1);
      await stepper.handleQueueMessage(message);
      return true;
    },
    async close() {
      await server.shutdown();
      counted.kv.close();
      stepperKv.close();
      await Deno.remove(path).catch(() => {});
    },
  };
}
