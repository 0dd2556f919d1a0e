import assert from "node:assert/strict";
import { z } from "zod";
import { tool, ToolCallingAgent } from "../../lib/mod.ts";
import { createApp } from "../../lib/server.ts";
import { directCallTools } from "../support/direct_tools.ts";
import { functionModel } from "../support/function_model.ts";

const KEY = "tool-route-key";

function setup() {
  const signals: AbortSignal[] = [];
  const { add, secret } = directCallTools();
  const hang = tool({
    name: "hang",
    description: "Never answers.",
    inputs: z.object({}),
    run: (_args, { signal }) => (signals.push(signal!), new Promise<string>(() => {})),
  });
  const boom = tool({
    name: "boom",
    description: "Fails.",
    inputs: z.object({}),
    run: () => {
      throw new Error("it broke");
    },
  });
  const pixel = tool({
    name: "pixel",
    description: "A 1x1 PNG.",
    inputs: z.object({}),
    output: "image",
    run: () =>
      Uint8Array.from(
        atob(
          "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
        ),
        (c) => c.charCodeAt(0),
      ),
  });
  const { model } = functionModel([]);
  const app = createApp({
    agents: {
      ops: new ToolCallingAgent({ name: "ops", model, tools: [add, hang, secret, boom, pixel], toolTimeoutMs: 150 }),
      other: new ToolCallingAgent({ name: "other", model, tools: [] }),
    },
    apiKeys: [KEY],
  });
  const call = (name: string, body: unknown, key: string | null = KEY) =>
    app.request(`/v1/tools/${name}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(key ? { Authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify(body),
    });
  return { app, call, signals };
}

Deno.test("POST /v1/tools/{name}: one direct tool call", async (t) => {
  const { app, call, signals } = setup();

  await t.step("runs the tool with validated arguments and answers its output and time", async () => {
    const res = await call("add", { arguments: { a: 2, b: 3 } });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.output, "5");
    assert.equal(body.tool, "add");
    assert.equal(body.agent, "ops");
    assert.equal(body.outputType, "string");
    assert.equal(typeof body.durationMs, "number");
  });

  await t.step("needs the API key like every /v1 route", async () => {
    assert.equal((await call("add", { arguments: { a: 1, b: 1 } }, null)).status, 401);
    assert.equal((await call("add", { arguments: { a: 1, b: 1 } }, "wrong")).status, 401);
  });

  await t.step("invalid arguments are 400 invalid_arguments in the JSON error shape", async () => {
    const res = await call("add", { arguments: { a: "two", b: 3 } });
    assert.equal(res.status, 400);
    const { error } = await res.json();
    assert.equal(error.code, "invalid_arguments");
    assert.match(error.message, /add/);
    assert.equal(error.retryable, false);
  });

  await t.step("an invalid body is 400 invalid_request; an unknown tool or agent 404", async () => {
    const bad = await call("add", { arguments: { a: 1, b: 1 }, extra: true });
    assert.equal(bad.status, 400);
    const unknown = await call("nope", { arguments: {} });
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).error.code, "tool_not_found");
    const noAgent = await call("add", { agent: "ghost", arguments: { a: 1, b: 1 } });
    assert.equal((await noAgent.json()).error.code, "agent_not_found");
    const elsewhere = await call("add", { agent: "other", arguments: { a: 1, b: 1 } });
    assert.equal((await elsewhere.json()).error.code, "tool_not_found");
  });

  await t.step("tools that opt out, and final_answer, refuse direct calls (403)", async () => {
    const listing = await (await app.request("/v1/agents", { headers: { Authorization: `Bearer ${KEY}` } })).json();
    const tools = listing.agents[0].tools as { name: string; directCalls?: boolean }[];
    assert.deepEqual(tools.filter((t) => t.directCalls === false).map((t) => t.name).sort(), [
      "final_answer",
      "secret_op",
    ]);
    for (const name of ["secret_op", "final_answer"]) {
      const res = await call(name, { arguments: {} });
      assert.equal(res.status, 403, name);
      assert.equal((await res.json()).error.code, "direct_calls_disabled");
    }
  });

  await t.step("the agent's tool time limit applies: 504 tool_timeout, the tool's signal aborted", async () => {
    const started = Date.now();
    const res = await call("hang", { arguments: {} });
    assert.equal(res.status, 504);
    const { error } = await res.json();
    assert.equal(error.code, "tool_timeout");
    assert.equal(error.retryable, true);
    assert.ok(Date.now() - started < 5_000);
    assert.equal(signals.at(-1)?.aborted, true);
  });

  await t.step("a failing tool is 422 tool_failed with its message", async () => {
    const res = await call("boom", { arguments: {} });
    assert.equal(res.status, 422);
    const { error } = await res.json();
    assert.equal(error.code, "tool_failed");
    assert.match(error.message, /it broke/);
  });

  await t.step("a media output comes back as a data URL", async () => {
    const body = await (await call("pixel", { arguments: {} })).json();
    assert.equal(body.output, null);
    assert.equal(body.media.mediaType, "image/png");
    assert.match(body.media.dataUrl, /^data:image\/png;base64,iVBOR/);
  });
});

Deno.test("playground pages: served without a key, self-contained, and turned off by playground: false", async () => {
  const { model } = functionModel([]);
  const agents = { ops: new ToolCallingAgent({ name: "ops", model, tools: [] }) };
  const on = createApp({ agents, apiKeys: [KEY] });
  for (const path of ["/", "/playground.js", "/playground.css", "/tools/add"]) {
    const res = await on.request(path);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get("Content-Security-Policy") ?? "", /default-src 'none'/);
    const text = await res.text();
    // Nothing is loaded from another origin.
    assert.doesNotMatch(text, /(src|href)="(https?:)?\/\//, path);
  }
  const gzipped = await on.request("/playground.js", { headers: { "Accept-Encoding": "gzip" } });
  assert.equal(gzipped.headers.get("Content-Encoding"), "gzip");
  await gzipped.body?.cancel();
  const tool = await (await on.request("/tools/%3Cscript%3E")).text();
  assert.doesNotMatch(tool, /<script>/);
  const off = createApp({ agents, apiKeys: [KEY], playground: false });
  for (const path of ["/", "/playground.js", "/tools/add"]) assert.equal((await off.request(path)).status, 404, path);
});
