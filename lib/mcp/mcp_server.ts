import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type EgressPolicy, guardedFetch } from "../net/egress.ts";

/**
 * An MCP server reached over HTTP: Streamable HTTP (the default, runs everywhere `fetch` does) or the legacy
 * HTTP+SSE transport (`transport: "sse"`). Every request goes through the egress guard (`guardedFetch`): https and
 * public hosts only unless `egress` says otherwise (e.g. `{allowPrivateNetwork: true}` for a server on loopback).
 */
export interface McpHttpServer {
  url: string | URL;
  /** smolagents' names: `"streamable-http"` (default) or `"sse"`. */
  transport?: "streamable-http" | "sse";
  /** Sent with every request (e.g. `Authorization`). */
  headers?: Record<string, string>;
  /** Which URLs may be reached (default: https, public hosts). */
  egress?: EgressPolicy;
  /** Performs each request after the egress check (default: the global `fetch`). */
  fetch?: typeof fetch;
}

/**
 * An MCP server reached over a transport you build (stdio: `stdioServer` from `@smolstep/smolstep/mcp/stdio`).
 * `key` names the server: connections are shared per isolate by it, so it must differ between servers.
 */
export interface McpTransportServer {
  key: string;
  createTransport(): Transport | Promise<Transport>;
}

/** Where an MCP server is: what `MCPClient` and `ToolCollection.fromMcp` take. */
export type McpServerParameters = McpHttpServer | McpTransportServer;

/** The key connections are shared by: the transport, the URL and the headers (never the egress options). */
export function serverKey(server: McpServerParameters): string {
  if ("key" in server) return server.key;
  return JSON.stringify([server.transport ?? "streamable-http", String(server.url), server.headers ?? {}]);
}

/** A new transport for the server; HTTP transports fetch through the egress guard. */
export async function createTransport(server: McpServerParameters): Promise<Transport> {
  if ("createTransport" in server) return await server.createTransport();
  const policy = server.egress ?? {};
  const url = new URL(String(server.url));
  const guarded = (input: string | URL, init?: RequestInit) => guardedFetch(input, init, policy, server.fetch);
  const requestInit: RequestInit | undefined = server.headers ? { headers: server.headers } : undefined;
  switch (server.transport ?? "streamable-http") {
    case "streamable-http":
      return new StreamableHTTPClientTransport(url, { fetch: guarded, requestInit });
    case "sse":
      return new SSEClientTransport(url, { fetch: guarded, requestInit });
    default:
      throw new TypeError(`Unknown MCP transport '${server.transport}' (use "streamable-http" or "sse")`);
  }
}
