import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { capResponse } from "../net/capped_response.ts";
import { type EgressPolicy, guardedFetch } from "../net/egress.ts";

/**
 * The most an MCP server's answer may hold: a JSON response's body, or one event of an event stream (a tool's
 * result is one event). Past it the connection is closed and the request in flight fails with the reason
 * (`BodyTooLargeError`), so a hostile or broken server cannot fill the host's memory within a tool's time limit.
 */
export const MAX_MCP_ANSWER_BYTES = 16 * 1024 * 1024;

/** Why a transport was closed by this module (its answer was too large), for the request that was in flight. */
const failures = new WeakMap<Transport, Error>();

/** The error that closed the transport here, if any. */
export const transportFailure = (transport: Transport | undefined) => transport && failures.get(transport);

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
  let transport: Transport | undefined;
  const guarded = async (input: string | URL, init?: RequestInit) =>
    capResponse(await guardedFetch(input, init, policy, server.fetch), MAX_MCP_ANSWER_BYTES, (error) => {
      if (!transport || failures.has(transport)) return;
      failures.set(transport, error);
      transport.close().catch(() => {});
    });
  const requestInit: RequestInit | undefined = server.headers ? { headers: server.headers } : undefined;
  switch (server.transport ?? "streamable-http") {
    case "streamable-http":
      transport = new StreamableHTTPClientTransport(url, { fetch: guarded, requestInit });
      break;
    case "sse":
      transport = new SSEClientTransport(url, { fetch: guarded, requestInit });
      break;
    default:
      throw new TypeError(`Unknown MCP transport '${server.transport}' (use "streamable-http" or "sse")`);
  }
  return transport;
}
