/**
 * `MCPClient.connect()` pages through `tools/list`, but a server's paging is input like any other: a server that
 * hands back the cursor it was given, or pages without end, is refused after a bounded number of pages instead of
 * being listed forever (an endless loop that grows the tool list until the isolate runs out of memory). The server
 * is the official SDK's low-level `Server`, on the SDK's in-memory transport.
 */
import assert from "node:assert/strict";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { MCPClient, type McpTransportServer } from "../../lib/mcp/mod.ts";
import { ConfigurationError } from "../../lib/errors.ts";

/** A server whose `tools/list` answers page `n` with tool `t<n>` and `nextCursor(n)` (undefined: the last page). */
function pagingServer(nextCursor: (page: number, cursor: string | undefined) => string | undefined) {
  let pages = 0;
  const params: McpTransportServer = {
    key: `paging-${crypto.randomUUID()}`,
    async createTransport() {
      const server = new Server({ name: "paging", version: "1.0.0" }, { capabilities: { tools: {} } });
      server.setRequestHandler(ListToolsRequestSchema, (request: { params?: { cursor?: string } }) => {
        const page = pages++;
        // Without a bound on the client the listing would never end: this makes it fail instead of hang.
        if (page >= 2_000) throw new Error("the client asked for 2,000 pages");
        const tool = { name: `t${page}`, inputSchema: { type: "object" as const } };
        return { tools: [tool], nextCursor: nextCursor(page, request.params?.cursor) };
      });
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await server.connect(serverSide);
      return clientSide;
    },
  };
  return { params, pages: () => pages };
}

for (
  const [what, next] of [
    ["the same cursor again", (_page: number, cursor: string | undefined) => cursor ?? "again"],
    ["new cursors without end", (page: number) => `page-${page + 1}`],
  ] as const
) {
  Deno.test(`MCPClient.connect refuses a tools/list that pages forever (${what})`, async () => {
    const { params, pages } = pagingServer(next);
    const client = new MCPClient(params);
    try {
      const failed = await client.connect().catch((error) => error);
      assert.ok(failed instanceof ConfigurationError, String(failed));
      assert.match(failed.message, /tools\/list/);
      assert.ok(pages() <= 100, `pages asked for: ${pages()}`);
    } finally {
      await client.close();
    }
  });
}

Deno.test("MCPClient.connect lists every page of a server that pages", async () => {
  const { params } = pagingServer((page) => page < 2 ? `page-${page + 1}` : undefined);
  const client = await new MCPClient(params).connect();
  try {
    assert.deepEqual(client.getTools().map((tool) => tool.name), ["t0", "t1", "t2"]);
  } finally {
    await client.close();
  }
});
