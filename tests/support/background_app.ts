import { type AppOptions, createSmolstep, InProcessQueue } from "../../lib/server.ts";
import { apiClient } from "./http_client.ts";

/** The app with an in-process queue, served on loopback. */
export function serveBackground(options: Omit<AppOptions, "queue">) {
  const queue = new InProcessQueue();
  const smolstep = createSmolstep({ retryDelayMs: 5, lockTtlMs: 200, ...options, queue });
  queue.listen(smolstep.handleQueueMessage);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  return {
    url,
    queue,
    api: apiClient(url),
    handle: smolstep.handleQueueMessage,
    async close() {
      await queue.idle();
      queue.close();
      await server.shutdown();
    },
  };
}
