import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";
import { VERSION } from "../version.ts";
import { createTransport, type McpServerParameters, serverKey, transportFailure } from "./mcp_server.ts";

/**
 * Connections to MCP servers, shared within one isolate (one process, one Worker isolate) and keyed by server. A
 * connection is opened on first use; one that closed (the server or its session went away) is dropped, and the
 * next use opens a new one. Nothing here is ever written to a run's state.
 */
const connections = new Map<string, Promise<Client>>();

/**
 * The SDK validates tools' structured output with a JSON Schema compiler by default, which compiles code at run time
 * (refused on Workers). smolstep hands tool results to the model as they are, as smolagents does; this validator
 * accepts every value so nothing is compiled.
 */
const acceptAll: jsonSchemaValidator = {
  getValidator: <T>() => (input: unknown) => ({ valid: true as const, data: input as T, errorMessage: undefined }),
};

/** Each connection's transport (the client forgets it once closed). */
const transports = new WeakMap<Client, Transport>();

/** The shared connection to a server: the open one, or a new one. */
export function sharedConnection(server: McpServerParameters): Promise<Client> {
  const key = serverKey(server);
  let connection = connections.get(key);
  if (!connection) {
    const opening = openConnection(server);
    connections.set(key, opening);
    opening.then((client) => client.onclose = () => forget(key, opening), () => forget(key, opening));
    connection = opening;
  }
  return connection;
}

/** Drops a connection from the pool (when it failed) and closes it; the next use opens a new one. */
export async function dropConnection(server: McpServerParameters, client?: Client): Promise<void> {
  const key = serverKey(server);
  const connection = connections.get(key);
  if (!connection) return;
  const open = await connection.catch(() => undefined);
  if (client && open !== client) return;
  forget(key, connection);
  await open?.close().catch(() => {});
}

function forget(key: string, connection: Promise<Client>): void {
  if (connections.get(key) === connection) connections.delete(key);
}

async function openConnection(server: McpServerParameters): Promise<Client> {
  const client = new Client({ name: "smolstep", version: VERSION }, { jsonSchemaValidator: acceptAll });
  const transport = await createTransport(server);
  transports.set(client, transport);
  await client.connect(transport);
  return client;
}

/**
 * Runs `use` on the shared connection. When the server refused the request because the connection or its session
 * is gone (a client no longer connected, a session the server no longer knows: 404), the connection is dropped and
 * `use` runs once more on a new one. A connection that closes while a request is in flight (`ConnectionClosed`: a
 * stdio server that died, a connection another call dropped) drops the connection too, but `use` runs again only
 * when it is `idempotent` (a listing): the server may have run the request, and a tool call must not run twice.
 * Other errors are thrown as they are.
 */
export async function withConnection<T>(
  server: McpServerParameters,
  use: (client: Client) => Promise<T>,
  signal?: AbortSignal,
  idempotent = false,
): Promise<T> {
  for (let attempt = 0;; attempt++) {
    let client: Client | undefined;
    try {
      client = await sharedConnection(server);
      return await use(client);
    } catch (error) {
      const closedInFlight = error instanceof McpError && (error as McpError).code === ErrorCode.ConnectionClosed;
      if (!closedInFlight && !refusedForConnection(error)) throw error;
      await dropConnection(server, client);
      // Closed here because the server's answer was too large: that is the error, and no retry.
      const failure = transportFailure(client && transports.get(client));
      if (failure) throw failure;
      if ((closedInFlight && !idempotent) || attempt > 0 || signal?.aborted) throw error;
    }
  }
}

/** The request was refused, not run: no connection to send it on, or a session the server no longer knows. */
function refusedForConnection(error: unknown): boolean {
  if (error instanceof StreamableHTTPError) return (error as StreamableHTTPError).code === 404;
  return error instanceof Error && /not connected/i.test(error.message);
}
