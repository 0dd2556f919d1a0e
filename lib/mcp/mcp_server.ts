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

/**
 * The key connections are shared by: the transport, the URL, the headers and the egress policy (a connection opened
 * under a looser policy is never handed to a server configured with a stricter one). Functions (`fetch`,
 * `resolveHost`) count by identity.
 */
export function serverKey(server: McpServerParameters): string {
  if ("key" in server) return `custom:${server.key}`;
  const { resolveHost, ...policy } = server.egress ?? {};
  return JSON.stringify([
    server.transport ?? "streamable-http",
    String(server.url),
    server.headers ?? {},
    policy,
    identity(resolveHost),
    identity(server.fetch),
  ]);
}

const identities = new WeakMap<object, number>();
let lastIdentity = 0;

function identity(value: object | undefined): number {
  if (value === undefined) return 0;
  const known = identities.get(value);
  if (known !== undefined) return known;
  identities.set(value, ++lastIdentity);
  return lastIdentity;
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
