/**
 * A loopback HTTP server that records every request it gets (path and body), for tests of result callbacks and
 * of redirects that must not be followed. `respond` decides each answer (204 by default).
 */
export function startCallbackReceiver(
  respond: (url: URL) => Response | Promise<Response> = () => new Response(null, { status: 204 }),
) {
  const hits: string[] = [];
  const bodies: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    hits.push(new URL(request.url).pathname);
    bodies.push(await request.text());
    return respond(new URL(request.url));
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  return {
    hits,
    bodies,
    port: server.addr.port,
    url,
    /** Waits (bounded) until at least `count` requests arrived. */
    async waitForHits(count: number, timeoutMs = 30_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (hits.length < count) {
        if (Date.now() > deadline) throw new Error(`${url}: ${hits.length} of ${count} requests arrived`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: () => server.shutdown(),
  };
}
