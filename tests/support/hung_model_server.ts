/**
 * An OpenAI-compatible endpoint on raw TCP that hangs: it reads each request and never answers, until its client
 * closes the connection, which it counts as an abandoned call. Seen on the socket itself, this does not depend on
 * `Deno.serve` noticing a client that left (it often does not once a request body is a few hundred bytes).
 * `answerWith(reply)` makes it answer the following calls instead (one chat completion, then close).
 */
export interface HungModelServer extends AsyncDisposable {
  /** Base URL with `/v1` (an `apiBase`). */
  readonly url: string;
  /** Requests received (complete head and body). */
  readonly received: number;
  /** Hung requests whose client closed the connection. */
  readonly abandoned: number;
  /** From now on, answer every request with a `final_answer` tool call giving `answer` (undefined: hang again). */
  answerWith(reply: { answer: string } | undefined): void;
  close(): Promise<void>;
}

export function startHungModelServer(): HungModelServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const connections = new Set<Deno.Conn>();
  const handlers = new Set<Promise<void>>();
  let [received, abandoned] = [0, 0];
  let reply: { answer: string } | undefined;

  const handle = async (conn: Deno.Conn) => {
    const buffer = new Uint8Array(64 * 1024);
    let request: Uint8Array = new Uint8Array(0);
    try {
      for (;;) {
        const read = await conn.read(buffer);
        if (read === null) return; // closed before a full request
        request = concat(request, buffer.subarray(0, read));
        if (isComplete(request)) break;
      }
      received++;
      if (reply) return await answer(conn, reply.answer);
      // Hang: wait for the client to go (EOF or a reset).
      while ((await conn.read(buffer).catch(() => null)) !== null) { /* ignore pipelined bytes */ }
      abandoned++;
    } catch {
      // the listener is closing
    } finally {
      connections.delete(conn);
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  };

  const accepting = (async () => {
    for await (const conn of listener) {
      connections.add(conn);
      const running = handle(conn).finally(() => handlers.delete(running));
      handlers.add(running);
    }
  })().catch(() => {});

  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      listener.close();
      for (const conn of connections) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      await accepting;
      await Promise.all(handlers);
    })();

  return {
    url: `http://127.0.0.1:${port}/v1`,
    get received() {
      return received;
    },
    get abandoned() {
      return abandoned;
    },
    answerWith: (next) => void (reply = next),
    close,
    [Symbol.asyncDispose]: close,
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** True once the head and `Content-Length` bytes of body have arrived. */
function isComplete(bytes: Uint8Array): boolean {
  const text = new TextDecoder().decode(bytes);
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return false;
  const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
  return bytes.length - (new TextEncoder().encode(text.slice(0, end + 4)).length) >= length;
}

async function answer(conn: Deno.Conn, finalAnswer: string): Promise<void> {
  const call = { id: "call_1", type: "function", function: { name: "final_answer", arguments: "" } };
  call.function.arguments = JSON.stringify({ answer: finalAnswer });
  const body = JSON.stringify({
    id: "chatcmpl-hung",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "hung-model",
    choices: [{
      index: 0,
      message: { role: "assistant", content: null, tool_calls: [call] },
      finish_reason: "tool_calls",
    }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  });
  const bytes = new TextEncoder().encode(body);
  const head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n" +
    `Content-Length: ${bytes.length}\r\n\r\n`;
  const out = concat(new TextEncoder().encode(head), bytes);
  for (let written = 0; written < out.length;) written += await conn.write(out.subarray(written));
}
