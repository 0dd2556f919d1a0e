/** An OTLP/HTTP JSON receiver on loopback: keeps the bodies posted to `path` (`/v1/metrics`, `/v1/traces`). */
export function startOtlpCollector<T>(path: string) {
  const exports: T[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    if (new URL(request.url).pathname === path) exports.push(await request.json());
    else await request.body?.cancel();
    return Response.json({});
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, exports, shutdown: () => server.shutdown() };
}
