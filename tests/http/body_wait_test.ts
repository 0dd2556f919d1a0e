// A client that sends a POST's headers and then nothing (or the start of its body and then nothing) held a
// connection, and the memory behind it, for as long as it liked on every route but the step routes: a slowloris
// volume attack. Every body must now arrive within `maxBodyWaitMs`, else 408 request_timeout in each route
// family's error shape. Raw connections to a real server on a loopback port.
import assert from "node:assert/strict";
import { createAgents } from "../../functions/agents.ts";
import { exampleWebhook } from "../../functions/server_options.ts";
import { mcpServer } from "../../lib/mcp/server/mod.ts";
import { createSmolstep, MemoryStore } from "../../lib/server.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const WAIT_MS = 400;

/** An error answer in any of the three shapes. */
interface Answer {
  jsonrpc?: string;
  id?: unknown;
  error?: { code?: unknown; type?: unknown; message?: string; retryable?: unknown };
}

/** Sends a POST's headers and the start of its body over a raw connection, then nothing; returns the answer. */
async function answerToSlowBody(
  port: number,
  path: string,
  framing: string,
): Promise<{ status: string; body: Answer }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const head = `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n`;
    // A chunked body's first chunk says 5 bytes; one is sent.
    const start = framing === "chunked" ? "5\r\n{" : "{";
    await conn.write(encoder.encode(`${head}${framing}\r\n${start}`));
    // Without a deadline the server never answers: fail instead of hanging.
    const guard = setTimeout(() => conn.close(), 20 * WAIT_MS);
    let text = "";
    const buffer = new Uint8Array(4096);
    for (;;) {
      const read = await conn.read(buffer).catch(() => null);
      if (read === null) break;
      text += decoder.decode(buffer.subarray(0, read));
      const [headers, rest = ""] = text.split("\r\n\r\n", 2);
      const length = Number(/content-length: (\d+)/i.exec(headers)?.[1] ?? NaN);
      if (rest.length >= length) break;
    }
    clearTimeout(guard);
    const [headers, body = "null"] = text.split("\r\n\r\n", 2);
    return { status: headers.split("\r\n")[0], body: JSON.parse(body) };
  } finally {
    try {
      conn.close();
    } catch { /* closed by the guard */ }
  }
}

Deno.test("attack: a POST body that never ends is 408 request_timeout on every route family", async (t) => {
  const model = await startScriptedModelServer();
  model.setHandler(() => toolCallReply("final_answer", { answer: "done" }));
  const smolstep = createSmolstep({
    agents: createAgents({ OPENAI_BASE_URL: model.url, OPENAI_API_KEY: "k" }),
    store: new MemoryStore(),
    secret: "body-wait-secret-0123456789",
    webhookSecret: "body-wait-webhook-secret",
    webhooks: { assistant: exampleWebhook() },
    plugins: [mcpServer()],
    maxBodyWaitMs: WAIT_MS,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  const port = server.addr.port;
  const url = `http://127.0.0.1:${port}`;
  try {
    const { body: run } = await apiClient(url).post("/v1/agents/assistant/runs", { task: "one" });
    const openAi = (body: Answer) =>
      body.error?.type === "invalid_request_error" && body.error.code === "request_timeout";
    const smolstepShape = (body: Answer) => body.error?.code === "request_timeout" && body.error.retryable === true;
    const jsonRpc = (body: Answer) =>
      body.jsonrpc === "2.0" && body.id === null && /Request Timeout/.test(body.error?.message ?? "");
    const routes: [string, (body: Answer) => boolean][] = [
      ["/v1/agents/assistant/runs", smolstepShape],
      ["/v1/agents/assistant/runs?firstStep=true", smolstepShape],
      ["/v1/chat/completions", openAi],
      ["/mcp", jsonRpc],
      ["/v1/tools/calculator", smolstepShape],
      [`/v1/runs/${run.runId}/cancel`, smolstepShape],
      ["/v1/hooks/assistant", smolstepShape],
    ];
    for (
      const [framing, header] of [["Content-Length", "Content-Length: 100\r\n"], [
        "chunked",
        "Transfer-Encoding: chunked\r\n",
      ]]
    ) {
      for (const [path, shaped] of routes) {
        await t.step(`${framing} ${path}: 408 request_timeout`, async () => {
          const { status, body } = await answerToSlowBody(port, path, header);
          assert.match(status, /^HTTP\/1\.1 408/, `${status} ${JSON.stringify(body)}`);
          assert.ok(shaped(body), JSON.stringify(body));
        });
      }
    }
    await t.step("a request whose body arrives is answered as before", async () => {
      const api = apiClient(url);
      const created = await api.post("/v1/agents/assistant/runs", { task: "two", firstStep: true });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const cancelled = await api.post(`/v1/runs/${run.runId}/cancel`, {});
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    });
  } finally {
    await server.shutdown();
    await model.close();
  }
});

Deno.test("attack: a chunked body past maxBodyBytes is 413 on every method, read no further than the limit", async (t) => {
  const smolstep = createSmolstep({
    agents: createAgents({ OPENAI_BASE_URL: "http://127.0.0.1:9", OPENAI_API_KEY: "k" }),
    store: new MemoryStore(),
    plugins: [mcpServer()],
    maxBodyBytes: 1024,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  /** A chunked body (a stream has no Content-Length) of 64 KiB pieces for as long as the server pulls. */
  const endless = () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        if (pulled > 64) controller.close();
        else controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
      },
    });
    return { body, pulled: () => pulled };
  };
  try {
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      for (const path of ["/v1/runs/00000000-0000-0000-0000-000000000000", "/v1/agents/assistant/runs", "/mcp"]) {
        await t.step(`${method} ${path}: 413`, async () => {
          const sent = endless();
          const response = await fetch(`${url}${path}`, {
            method,
            body: sent.body,
            headers: { "Content-Type": "application/json" },
          });
          const body = await response.json();
          assert.equal(response.status, 413, JSON.stringify(body));
          if (path === "/mcp") assert.equal(body.jsonrpc, "2.0");
          else assert.equal(body.error.code, "payload_too_large");
          // The server stopped reading at the limit: the client was not asked for the whole 4 MiB.
          assert.ok(sent.pulled() < 64, `pulled ${sent.pulled()} pieces`);
        });
      }
    }
  } finally {
    await server.shutdown();
  }
});
