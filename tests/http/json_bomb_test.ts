/**
 * Attack: JSON bombs on every route that reads a JSON body, found from the route table (so a new body route is
 * covered without editing this test), plus `/mcp`: 50,000-deep nesting, an array of 100,001 items, an object of
 * 100,001 members, a body of one string of ~1 MiB escapes, each within `maxBodyBytes` (or just over it). Each is a
 * 4xx JSON error at once; the model is never called and nothing is stored.
 */
import assert from "node:assert/strict";
import { ROUTES } from "../../lib/http/openapi_route_table.ts";
import { DEFAULT_JSON_LIMITS } from "../../lib/http/json_limits.ts";
import { kvSnapshot } from "../support/kv_snapshot.ts";
import { serveAttackTarget } from "../support/attack_app.ts";

const KEY = "json-bomb-key-0123456789";
const entries = DEFAULT_JSON_LIMITS.maxEntries + 1;

const BOMBS: Array<[string, string, string[]]> = [
  ["50,000 deep", '{"a":'.repeat(50_000) + "1" + "}".repeat(50_000), ["json_too_deep", "-32700"]],
  ["100,001 array items", `{"task":"x","firstStep":true,"list":[${"0,".repeat(entries - 1)}0]}`, [
    "json_too_large",
    "-32700",
  ]],
  ["100,001 members", `{${Array.from({ length: entries }, (_, i) => `"${i.toString(36)}":0`).join(",")}}`, [
    "json_too_large",
    "-32700",
  ]],
  // Not a bomb by the caps (one string), but as large as a body may be: refused by the schema, quickly.
  ["a ~1 MiB string of escapes", `{"task":"${"\\u0000".repeat(170_000)}","firstStep":true,"x":1}`, [
    "invalid_request",
    "task_too_large",
    "-32700", // the MCP SDK's answer to JSON that is not JSON-RPC
  ]],
];

Deno.test("attack: JSON bombs on every JSON body route and /mcp are 4xx, nothing called or stored", async (t) => {
  const target = await serveAttackTarget([KEY]);
  const { url, model, kv } = target;
  try {
    const paths = [
      ...new Set([
        ...ROUTES.filter((route) => route.method === "post" && route.body).map((route) => target.concrete(route.path)),
        "/v1/chat/completions",
        "/mcp",
      ]),
    ];
    assert.ok(paths.includes("/v1/agents/assistant/runs") && paths.includes("/v1/tools/calculator"), paths.join());
    const before = await kvSnapshot(kv);
    const calls = model.requests.length;
    for (const path of paths) {
      await t.step(path, async () => {
        for (const [what, body, codes] of BOMBS) {
          const response = await fetch(`${url}${path}`, {
            method: "POST",
            headers: {
              Authorization: `Bearer ${KEY}`,
              "Content-Type": "application/json",
              Accept: "application/json, text/event-stream",
            },
            body,
          });
          const answer = await response.json();
          // smolstep's and OpenAI's error shapes, or a JSON-RPC error (MCP).
          const code = String(answer.error?.code ?? "");
          assert.ok(
            response.status >= 400 && response.status < 500 || path === "/mcp" && response.status === 200,
            `${path}, ${what}: ${response.status}`,
          );
          assert.ok(codes.includes(code) || code === "invalid_request_error", `${path}, ${what}: ${code}`);
        }
      });
    }
    assert.equal(model.requests.length, calls, "no bomb reached the model");
    assert.deepEqual(await kvSnapshot(kv), before, "nothing was stored");
  } finally {
    await target.close();
  }
});
