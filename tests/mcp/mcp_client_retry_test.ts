/**
 * An MCP tool call is sent again on a new connection only when the server refused it (no connection, a session it
 * no longer knows): a connection that closes while the call is in flight (a stdio server that died, a connection
 * dropped by another call) may have run it, so the call fails instead of running the tool a second time.
 * The servers are the official SDK's `McpServer`, on the SDK's in-memory transport.
 */
import assert from "node:assert/strict";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { MCPClient, type McpTransportServer } from "../../lib/mcp/mod.ts";
import { AgentToolExecutionError } from "../../lib/errors.ts";

/** A server whose connections each get a new SDK server offering one tool; `servers` are those opened. */
function oneToolServer(name: string, run: (server: McpServer) => CallToolResult | Promise<CallToolResult>) {
  const servers: McpServer[] = [];
  const params: McpTransportServer = {
    key: `${name}-${crypto.randomUUID()}`,
    async createTransport() {
      const server = new McpServer({ name, version: "1.0.0" });
      server.registerTool(name, { description: `The ${name} tool.` }, () => run(server));
      servers.push(server);
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await server.connect(serverSide);
      return clientSide;
    },
  };
  return { params, servers };
}

Deno.test("an MCP call whose connection closes in flight is not sent again", async () => {
  const charges: string[] = [];
  const { params, servers } = oneToolServer("charge", (server) => {
    charges.push("charged");
    // The side effect happened; the server goes away before it answers.
    setTimeout(() => server.close(), 0);
    return new Promise<never>(() => {});
  });
  const client = await new MCPClient(params).connect();
  try {
    const [charge] = client.getTools();
    const failed = await charge.call({}).catch((error) => error);
    assert.ok(failed instanceof AgentToolExecutionError, String(failed));
    assert.deepEqual(charges, ["charged"], "the tool ran once");
  } finally {
    await client.close();
    await Promise.all(servers.map((server) => server.close()));
  }
});

Deno.test("an MCP call after the connection closed opens a new one and runs once", async () => {
  const calls: string[] = [];
  const { params, servers } = oneToolServer("echo", () => {
    calls.push("echo");
    return { content: [{ type: "text", text: "hi" }] };
  });
  const client = await new MCPClient(params).connect();
  try {
    const [echo] = client.getTools();
    await client.close(); // the connection is gone while idle: the next call reconnects
    assert.equal(String(await echo.call({})), "hi");
    assert.deepEqual(calls, ["echo"]);
    assert.equal(servers.length, 2);
  } finally {
    await client.close();
  }
});
