/**
 * Real MCP servers for tests, built with the official SDK's `McpServer`: over Streamable HTTP (the SDK's Web-standard
 * transport on `Deno.serve`, one session per client), over legacy HTTP+SSE (the SDK's `SSEServerTransport` on
 * `node:http`), and over stdio (`mcp_stdio_server.ts`). All on loopback.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { z } from "zod";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { encodeWav } from "../../lib/types/wav.ts";
import { encodeBase64 } from "../../lib/base64.ts";

/** A 1x1 PNG. */
export const PNG_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
export const WAV_BASE64 = encodeBase64(encodeWav(new Float32Array(160), 16_000));

/** The tools every test server offers; `calls` records each call's tool name and arguments. */
export function buildMcpServer(calls: { name: string; args: unknown }[] = []): McpServer {
  const server = new McpServer({ name: "smolstep-test", version: "1.0.0" });
  const record = (name: string, args: unknown) => calls.push({ name, args });
  server.registerTool("add", {
    description: "Adds two numbers.",
    inputSchema: { a: z.number().describe("first"), b: z.number().describe("second") },
  }, (args: { a: number; b: number }) => {
    record("add", args);
    return { content: [{ type: "text", text: String(args.a + args.b) }] };
  });
  server.registerTool("weather-report", {
    description: "The weather in a city.",
    inputSchema: { city: z.string().describe("the city"), unit: z.enum(["c", "f"]).optional() },
  }, (args: { city: string; unit?: string }) => {
    record("weather-report", args);
    return { content: [{ type: "text", text: `Sunny in ${args.city}, 21 ${args.unit ?? "c"}` }] };
  });
  server.registerTool("snapshot", { description: "A picture." }, () => {
    record("snapshot", {});
    return { content: [{ type: "image", data: PNG_BASE64, mimeType: "image/png" }] };
  });
  server.registerTool("beep", { description: "A sound." }, () => {
    record("beep", {});
    return { content: [{ type: "audio", data: WAV_BASE64, mimeType: "audio/wav" }] };
  });
  server.registerTool("read_note", { description: "A note as an embedded resource." }, () => {
    record("read_note", {});
    return {
      content: [
        { type: "resource", resource: { uri: "note://1", mimeType: "text/plain", text: "buy milk" } },
        { type: "resource_link", uri: "note://2", name: "second note" },
      ],
    };
  });
  server.registerTool("fail", { description: "Always fails." }, () => {
    record("fail", {});
    return { isError: true, content: [{ type: "text", text: "the disk is full" }] };
  });
  server.registerTool("stats", {
    description: "Structured numbers.",
    outputSchema: { count: z.number() },
  }, () => {
    record("stats", {});
    return { content: [{ type: "text", text: '{"count":3}' }], structuredContent: { count: 3 } };
  });
  return server;
}

export interface HttpMcpServer {
  /** Streamable HTTP endpoint. */
  url: string;
  calls: { name: string; args: unknown }[];
  /** Ends every session (the server "restarted"): the next request with an old session id gets 404. */
  endSessions(): Promise<void>;
  sessions(): number;
  close(): Promise<void>;
}

/** The SDK's Streamable HTTP server transport on `Deno.serve` (loopback, a random port), stateful sessions. */
export function startHttpMcpServer(): HttpMcpServer {
  const calls: { name: string; args: unknown }[] = [];
  const transports = new Map<string, WebStandardStreamableHTTPServerTransport>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const id = request.headers.get("mcp-session-id");
    if (id) {
      const transport = transports.get(id);
      if (!transport) {
        return Response.json({ jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null }, {
          status: 404,
        });
      }
      return await transport.handleRequest(request);
    }
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      onsessioninitialized: (sessionId: string) => void transports.set(sessionId, transport),
    });
    await buildMcpServer(calls).connect(transport);
    return await transport.handleRequest(request);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/mcp`,
    calls,
    sessions: () => transports.size,
    async endSessions() {
      const open = [...transports.values()];
      transports.clear();
      await Promise.all(open.map((transport) => transport.close()));
    },
    async close() {
      await this.endSessions();
      await server.shutdown();
    },
  };
}

/** The SDK's legacy HTTP+SSE server transport on `node:http` (GET /sse opens the stream, POST /messages). */
export async function startSseMcpServer(): Promise<
  { url: string; calls: { name: string; args: unknown }[]; close(): Promise<void> }
> {
  const calls: { name: string; args: unknown }[] = [];
  const transports = new Map<string, SSEServerTransport>();
  const http = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    if (request.method === "GET" && url.pathname === "/sse") {
      const transport = new SSEServerTransport("/messages", response);
      transports.set(transport.sessionId, transport);
      response.on("close", () => transports.delete(transport.sessionId));
      await buildMcpServer(calls).connect(transport);
      return;
    }
    const transport = transports.get(url.searchParams.get("sessionId") ?? "");
    if (request.method === "POST" && url.pathname === "/messages" && transport) {
      await transport.handlePostMessage(request, response);
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/sse`,
    calls,
    async close() {
      await Promise.all([...transports.values()].map((transport) => transport.close()));
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}
