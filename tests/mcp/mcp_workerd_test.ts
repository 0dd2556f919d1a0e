/**
 * The MCP entry under workerd: `tests/support/workers/mcp_harness.ts` runs in `wrangler dev` (local mode) and talks
 * Streamable HTTP to the SDK's MCP server on loopback.
 */
import assert from "node:assert/strict";
import { startWranglerDev } from "../support/wrangler_dev.ts";
import { startHttpMcpServer } from "../support/mcp_servers.ts";

const CONFIG = new URL("../support/workers/mcp_harness.toml", import.meta.url).pathname;

Deno.test({
  name: "MCP Streamable HTTP client under workerd (wrangler dev)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const mcp = startHttpMcpServer();
    const dev = await startWranglerDev({ config: CONFIG });
    try {
      const get = async (path: string) =>
        await (await fetch(`${dev.url}${path}?mcp=${encodeURIComponent(mcp.url)}`)).json();

      await t.step("lists the tools and calls them: text, image, an MCP error", async () => {
        const result = await get("/run");
        assert.deepEqual(result, {
          tools: ["add", "beep", "fail", "read_note", "snapshot", "stats", "weather_report"],
          sum: "42",
          image: { type: "image/png", size: 70 },
          failure: "MCP tool 'fail' failed: the disk is full",
        });
      });

      await t.step("a second request in the same isolate reuses the connection (no new session)", async () => {
        const sessions = mcp.sessions();
        assert.equal((await get("/run")).sum, "42");
        assert.equal(mcp.sessions(), sessions);
      });

      await t.step("the server ended the sessions: the isolate reconnects", async () => {
        await mcp.endSessions();
        assert.equal((await get("/run")).sum, "42");
        assert.equal(mcp.sessions(), 1);
      });

      await t.step("without the loopback opt-in the egress guard refuses the server", async () => {
        const result = await get("/refused");
        assert.equal(result.error?.name, "EgressError", JSON.stringify(result));
      });
    } finally {
      await dev.close();
      await mcp.close();
    }
  },
});
