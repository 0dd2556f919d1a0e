/**
 * Attack: every route the route table marks as needing the API key (and `/metrics`, `/mcp`), called with the key
 * where the server must not look for it or in a shape it must not accept: no key, a wrong key, the key with a byte
 * more or less, in the query string, as Basic credentials, in a cookie, in `X-Api-Key`, two keys in one header.
 * Each is 401 (400 for a malformed `Authorization` header) with a `WWW-Authenticate` challenge and changes nothing: no model call, no stored record.
 */
import assert from "node:assert/strict";
import { ROUTES } from "../../lib/http/openapi_route_table.ts";
import { kvSnapshot } from "../support/kv_snapshot.ts";
import { serveAttackTarget } from "../support/attack_app.ts";

const KEY = "api-key-attack-0123456789";
const OTHER = "api-key-attack-other-0123";

Deno.test("attack: the API key only in Authorization: Bearer, on every keyed route", async (t) => {
  const target = await serveAttackTarget([KEY, OTHER]);
  const { url, model, kv, runId } = target;
  try {
    const keyed = ROUTES.filter((route) => route.auth).map((route) => ({
      method: route.method.toUpperCase(),
      path: target.concrete(route.path),
    }));
    keyed.push({ method: "GET", path: "/metrics" }, { method: "POST", path: "/mcp" });
    assert.ok(keyed.length >= 14, `${keyed.length} keyed routes`);
    const attacks: Array<[string, Record<string, string>, string]> = [
      ["no key", {}, ""],
      ["a wrong key", { Authorization: "Bearer wrong-key-0123456789" }, ""],
      ["the key less its last byte", { Authorization: `Bearer ${KEY.slice(0, -1)}` }, ""],
      ["the key and a byte more", { Authorization: `Bearer ${KEY}x` }, ""],
      ["the key in the query string", {}, `?api_key=${KEY}&access_token=${KEY}&key=${KEY}`],
      ["the key as Basic credentials", { Authorization: `Basic ${btoa(`user:${KEY}`)}` }, ""],
      ["the key alone, no scheme", { Authorization: KEY }, ""],
      ["the key in a cookie and X-Api-Key", { Cookie: `api_key=${KEY}`, "X-Api-Key": KEY }, ""],
      ["two keys in one header", { Authorization: `Bearer ${KEY}, Bearer ${OTHER}` }, ""],
    ];
    const before = await kvSnapshot(kv);
    const calls = model.requests.length;
    for (const [what, headers, query] of attacks) {
      await t.step(what, async () => {
        for (const { method, path } of keyed) {
          const response = await fetch(`${url}${path}${query}`, {
            method,
            headers: { ...headers, ...(method === "POST" ? { "Content-Type": "application/json" } : {}) },
            body: method === "POST" ? JSON.stringify({ task: "spend", stateless: true }) : undefined,
          });
          await response.body?.cancel();
          // A malformed Authorization header is 400 invalid_request (RFC 6750), a missing or wrong key 401.
          assert.ok([400, 401].includes(response.status), `${what}: ${method} ${path}: ${response.status}`);
          assert.match(response.headers.get("WWW-Authenticate") ?? "", /^Bearer/, `${method} ${path}`);
        }
      });
    }
    assert.equal(model.requests.length, calls, "nothing reached the model");
    assert.deepEqual(await kvSnapshot(kv), before, "nothing was stored");
    await t.step("the right keys, either of them, pass", async () => {
      for (const key of [KEY, OTHER]) {
        const response = await fetch(`${url}/v1/runs/${runId}`, { headers: { Authorization: `Bearer ${key}` } });
        assert.equal(response.status, 200);
        await response.body?.cancel();
      }
    });
  } finally {
    await target.close();
  }
});
