// An MCP server used as a tool source, hostile in how much it answers: a tool result that never ends (a JSON body,
// or one Server-Sent Event that grows forever) would be read into the host's memory for as long as the tool's time
// limit lets it. A raw Streamable HTTP server on a loopback port, counting the bytes the client pulled.
import assert from "node:assert/strict";
import { MCPClient } from "../../lib/mcp/mod.ts";
import { MAX_MCP_ANSWER_BYTES } from "../../lib/mcp/mcp_server.ts";

const CHUNK = new Uint8Array(64 * 1024).fill(0x61); // "aaaa..."
/** The server gives up here (a stream that ended without a whole message): well past the cap, so a test fails. */
const SERVER_LIMIT = 3 * MAX_MCP_ANSWER_BYTES;
/** Bytes in flight between the server's stream and the client's reader (socket buffers), beyond the cap. */
const MARGIN = 8 * 1024 * 1024;

function startFloodingServer(mode: "json" | "sse") {
  const sent = { bytes: 0, cancelled: false };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    if (request.method !== "POST") return new Response(null, { status: 405 });
    const message = await request.json();
    const reply = (result: unknown) => Response.json({ jsonrpc: "2.0", id: message.id, result });
    switch (message.method) {
      case "initialize":
        return reply({
          protocolVersion: message.params.protocolVersion,
          capabilities: { tools: {} },
          serverInfo: { name: "flood", version: "1.0.0" },
        });
      case "tools/list":
        return reply({ tools: [{ name: "flood", inputSchema: { type: "object" } }] });
      case "tools/call": {
        const head = `{"jsonrpc":"2.0","id":${message.id},"result":{"content":[{"type":"text","text":"`;
        const body = new ReadableStream<Uint8Array>({
          start: (controller) => controller.enqueue(new TextEncoder().encode(mode === "sse" ? `data: ${head}` : head)),
          pull: (controller) => {
            if (sent.bytes >= SERVER_LIMIT) return controller.close();
            sent.bytes += CHUNK.byteLength;
            controller.enqueue(CHUNK);
          },
          cancel: () => void (sent.cancelled = true),
        }, { highWaterMark: 0 });
        const type = mode === "sse" ? "text/event-stream" : "application/json";
        return new Response(body, { headers: { "content-type": type } });
      }
      default:
        return new Response(null, { status: 202 });
    }
  });
  return { url: `http://127.0.0.1:${server.addr.port}/mcp`, sent, close: () => server.shutdown() };
}

for (const mode of ["json", "sse"] as const) {
  Deno.test(`attack: an MCP tool result that never ends (${mode}) fails at the cap, memory bounded`, async () => {
    const server = startFloodingServer(mode);
    const client = new MCPClient({ url: server.url, egress: { allowPrivateNetwork: true } });
    try {
      const [tool] = (await client.connect()).getTools();
      // The signal only keeps a broken build from hanging the test; the assertions are on bytes.
      const error = await tool.forward({}, { signal: AbortSignal.timeout(60_000) }).then(() => undefined, (e) => e);
      assert.ok(error instanceof Error, "the call failed");
      assert.match(error.message, new RegExp(`more than ${MAX_MCP_ANSWER_BYTES} bytes`), error.message);
      // The connection is closed: the server's stream is cancelled (Deno's server notices soon after).
      for (let i = 0; i < 100 && !server.sent.cancelled; i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(server.sent.cancelled, "the response's stream was cancelled");
      assert.ok(
        server.sent.bytes <= MAX_MCP_ANSWER_BYTES + MARGIN,
        `the client pulled ${server.sent.bytes} bytes (cap ${MAX_MCP_ANSWER_BYTES})`,
      );
    } finally {
      await client.close().catch(() => {});
      await server.close();
    }
  });
}
