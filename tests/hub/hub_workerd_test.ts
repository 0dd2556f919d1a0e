/**
 * `Tool.fromHub` on Cloudflare Workers: tests/support/workers/hub_harness.ts under workerd (`wrangler dev`, local
 * mode) downloads a tool from the loopback Hub and runs its code in the QuickJS sandbox (the imported .wasm).
 */

import assert from "node:assert/strict";
import { startHubRepoServer } from "../support/hub_repo_server.ts";
import { startWranglerDev, type WranglerDev } from "../support/wrangler_dev.ts";

const CONFIG = new URL("../support/workers/hub_harness.toml", import.meta.url).pathname;

const MANIFEST = JSON.stringify({
  name: "word_count",
  description: "Counts words.",
  inputs: { text: { type: "string", description: "the text" } },
  outputType: "integer",
});

Deno.test({
  name: "Tool.fromHub under workerd: downloads through the egress guard, runs in the sandbox",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using hub = await startHubRepoServer();
    hub.seed("me/word-count", {
      "tool.json": MANIFEST,
      "tool.js":
        "export default function forward({ text }) {\n  return text.split(/\\s+/).filter(Boolean).length;\n}\n",
    });
    hub.seed("me/spin", { "tool.json": MANIFEST, "tool.js": "export default () => { while (true) {} };\n" });
    let dev: WranglerDev | undefined;
    try {
      dev = await startWranglerDev({ config: CONFIG });
      const call = async (body: Record<string, unknown>) => {
        const response = await fetch(`${dev!.url}/call`, {
          method: "POST",
          body: JSON.stringify({ hubUrl: hub.origin, trustRemoteCode: true, ...body }),
        });
        assert.equal(response.status, 200);
        return await response.json();
      };

      await t.step("the tool's code runs in the Workers sandbox", async () => {
        assert.deepEqual(await call({ repoId: "me/word-count", args: { text: "one two  three" } }), {
          name: "word_count",
          result: 3,
        });
        assert.ok(hub.requests.some((r) => r.path === "/spaces/me/word-count/resolve/main/tool.js"));
      });

      await t.step("refused without trustRemoteCode", async () => {
        const { error } = await call({ repoId: "me/word-count", args: { text: "x" }, trustRemoteCode: false });
        assert.match(error, /^ConfigurationError: .*trustRemoteCode: true/);
      });

      await t.step("a tool that loops forever is stopped by the sandbox's limit", async () => {
        const { error } = await call({ repoId: "me/spin", args: { text: "x" }, timeLimitMs: 1_000 });
        assert.match(error, /TimeoutError: Execution exceeded (the time limit of 1 s|its CPU budget)/);
      });
    } finally {
      await dev?.close();
    }
  },
});
