/**
 * A loopback proxy in front of MCP server instances that drops connections the way a network does: the first SSE
 * answer to a POST (and, with `cutGetAfter`, to a GET) is passed on until an event matches, then its body fails (the
 * client's read throws) and the upstream request is let go (the server sees its caller leave). POSTs go to `post`,
 * GETs to `get` (another instance, to show a resumed stream needs nothing of the first).
 */
export interface ProxiedRequest {
  method: string;
  status: number;
  lastEventId: string | null;
}

export function startDropProxy(
  targets: { post: string; get: string },
  cutAfter: (event: string) => boolean,
  cutGetAfter?: (event: string) => boolean,
) {
  const requests: ProxiedRequest[] = [];
  const cuts = new Map([["POST", cutAfter], ...(cutGetAfter ? [["GET", cutGetAfter] as const] : [])]);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const url = new URL(request.url);
    const target = request.method === "GET" ? targets.get : targets.post;
    const headers = new Headers(request.headers);
    headers.delete("host");
    const body = request.method === "POST" ? await request.arrayBuffer() : undefined;
    const upstream = await fetch(`${target}${url.pathname}`, { method: request.method, headers, body });
    requests.push({ method: request.method, status: upstream.status, lastEventId: headers.get("last-event-id") });
    const sse = upstream.headers.get("Content-Type")?.startsWith("text/event-stream");
    const cut = cuts.get(request.method);
    if (!cut || !sse || !upstream.body) return upstream;
    cuts.delete(request.method);
    const reader = upstream.body.pipeThrough(new TextDecoderStream()).getReader();
    const encoder = new TextEncoder();
    let buffered = "";
    const dropped = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { value, done } = await reader.read();
        if (done) return controller.close();
        buffered += value;
        const events = buffered.split("\n\n");
        buffered = events.pop() ?? "";
        for (const event of events) {
          controller.enqueue(encoder.encode(`${event}\n\n`));
          if (cut(event)) {
            await reader.cancel();
            // Give the client the event before the connection fails.
            await new Promise((resolve) => setTimeout(resolve, 20));
            return controller.error(new Error("connection dropped by the test proxy"));
          }
        }
      },
      cancel: () => reader.cancel(),
    });
    return new Response(dropped, { status: upstream.status, headers: upstream.headers });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close: () => server.shutdown(),
  };
}

/** The runs the instances at `urls` created, from their `/metrics` (`smolstep_runs_created_total`). */
export async function runsCreated(urls: string[], headers: Record<string, string> = {}): Promise<number> {
  let total = 0;
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`, { headers })).text();
    for (const line of text.split("\n")) {
      if (line.startsWith("smolstep_runs_created_total{")) total += Number(line.split(" ").at(-1));
    }
  }
  return total;
}
