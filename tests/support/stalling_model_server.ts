/**
 * An OpenAI-compatible chat completions endpoint that stalls mid-reply: it sends its response headers and the start
 * of the body, then nothing, until its client goes. A plain request gets half a JSON body; a streamed one (`"stream":
 * true`) gets one chunk of text. After `stalls` such replies it answers in full ("fast"), as plain JSON.
 */

const COMPLETION = {
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 0,
  model: "m",
  choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "fast" } }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
};

const FIRST_CHUNK = {
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 0,
  model: "m",
  choices: [{ index: 0, delta: { role: "assistant", content: "Let me" }, finish_reason: null }],
};

export interface StallingModelServer {
  /** Base URL with `/v1` (an `apiBase`). */
  readonly url: string;
  /** POSTs received. */
  readonly posts: number;
  close(): Promise<void>;
}

export function startStallingModelServer(stalls = Infinity): StallingModelServer {
  let posts = 0;
  const open = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    if (request.method !== "POST") return new Response("not found", { status: 404 });
    const body = await request.json().catch(() => ({}));
    if (++posts > stalls) return Response.json(COMPLETION);
    const streamed = body?.stream === true;
    const start = streamed ? `data: ${JSON.stringify(FIRST_CHUNK)}\n\n` : '{"id":"chatcmpl-1","object":';
    let own: ReadableStreamDefaultController<Uint8Array> | undefined;
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        own = controller;
        open.add(controller);
        controller.enqueue(new TextEncoder().encode(start));
      },
      cancel() {
        if (own) open.delete(own);
      },
    });
    const type = streamed ? "text/event-stream" : "application/json";
    return new Response(stalled, { headers: { "Content-Type": type } });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/v1`,
    get posts() {
      return posts;
    },
    async close() {
      for (const controller of open) {
        try {
          controller.close();
        } catch { /* already closed */ }
      }
      await server.shutdown();
    },
  };
}
