import assert from "node:assert/strict";
import { type CallToolResult, ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { IDEMPOTENCY_KEY_META, mcpServer, RUN_ID_META } from "../../lib/mcp/server/mod.ts";
import { apiClient } from "../support/http_client.ts";
import { type ScriptedModelServer, startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { runsCreated, startDropProxy } from "./mcp_drop_proxy.ts";
import { callThenLeave, connect, helperAgents, serveApp } from "./mcp_server_support.ts";
import { until } from "../support/until.ts";

/**
 * Idempotency keys of MCP `tools/call` (lib/mcp/server/mcp_idempotency.ts), through the official SDK client: a host
 * that gives up on a call (the SDK's request timeout, a dropped stream it cannot resume) and calls the tool again with
 * the same key gets the first call's run, never a second one. Scoped to the caller's credentials; a key reused for
 * another call is refused.
 */

const KEY_A = "idempotent-mcp-a";
const KEY_B = "idempotent-mcp-b";
const auth = (key: string) => ({ Authorization: `Bearer ${key}` });
const keyed = (key: string) => ({ [IDEMPOTENCY_KEY_META]: key });
/** Long enough for any run here: a call that waits on nothing fails the test rather than hanging it. */
const CALL_TIMEOUT_MS = 10_000;
const ANSWER = [{ type: "text", text: "42" }];
/** A slow model's reply, and the SDK timeout of a call that gives up before it: the run is named well before that. */
const SLOW_MS = 2_000;
const GIVE_UP_MS = 1_000;

async function serve(model: ScriptedModelServer, background: boolean) {
  const kv = await Deno.openKv(":memory:");
  const app = serveApp({
    // `twin`: a second agent tool, for a key reused with another tool.
    agents: { ...helperAgents(model), twin: helperAgents(model).helper },
    store: new DenoKvStore(kv),
    background,
    // Its step deadline (0.9 of it) longer than the model's slowest reply, so no watchdog copy of a step message
    // takes the step again.
    ...(background ? { lockTtlMs: 2 * SLOW_MS } : {}),
    apiKeys: [KEY_A, KEY_B],
    events: { pollMs: 20 },
    plugins: [mcpServer()],
  });
  return { url: app.url, close: async () => (await app.close(), kv.close()) };
}

/** What a test gets: the model, the app, its SDK clients (closed after the test), and the runs it created. */
interface TestApp {
  model: ScriptedModelServer;
  url: string;
  /** An SDK client of `url` (the app's by default) sending `headers` (caller A's credentials by default). */
  client(headers?: Record<string, string>, url?: string): Promise<Client>;
  runsCreated(): Promise<number>;
}

/** `test` against an app whose model answers "42" after `delayMs`. */
async function withApp(background: boolean, delayMs: number, test: (app: TestApp) => Promise<void>) {
  await using model = await startScriptedModelServer();
  model.setHandler(() => ({ ...toolCallReply("final_answer", { answer: "42" }), delayMs }));
  const app = await serve(model, background);
  const clients: Client[] = [];
  try {
    await test({
      model,
      url: app.url,
      client: async (headers = auth(KEY_A), url = app.url) => {
        const { client } = await connect(url, headers);
        clients.push(client);
        return client;
      },
      runsCreated: () => runsCreated([app.url], auth(KEY_A)),
    });
  } finally {
    for (const client of clients) await client.close();
    await app.close();
  }
}

async function call(
  client: Client,
  meta: Record<string, unknown>,
  { name = "helper", args = { task: "6 x 7?" } as Record<string, unknown>, timeout = CALL_TIMEOUT_MS } = {},
) {
  return await client.callTool({ name, arguments: args, _meta: meta }, undefined, { timeout }) as CallToolResult;
}

/** A call the client gives up on after `timeout` ms (the SDK's request timeout), and the run it had started. */
async function callAndTimeOut(client: Client, meta: Record<string, unknown>, timeout: number) {
  let runId: string | undefined;
  const onprogress = (p: { _meta?: Record<string, unknown> }) => void (runId ??= p._meta?.[RUN_ID_META] as string);
  const calling = client.callTool({ name: "helper", arguments: { task: "6 x 7?" }, _meta: meta }, undefined, {
    timeout,
    onprogress,
  });
  await assert.rejects(
    calling,
    (error) => error instanceof McpError && (error as McpError).code === ErrorCode.RequestTimeout,
  );
  assert.ok(runId, "the call had named its run (progress 0) before the client gave up");
  return runId;
}

for (const background of [true, false]) {
  const mode = background ? "background" : "kv";
  Deno.test(`MCP idempotency (${mode}): a call sent again after the SDK's timeout answers from the first run`, async () => {
    await withApp(background, SLOW_MS, async ({ model, client, runsCreated }) => {
      const host = await client();
      const firstRun = await callAndTimeOut(host, keyed("call-1"), GIVE_UP_MS);
      const result = await call(host, keyed("call-1"));
      assert.deepEqual(result.content, ANSWER, JSON.stringify(result));
      assert.equal(result._meta?.[RUN_ID_META], firstRun, "the answer is the first call's run's");
      assert.equal(await runsCreated(), 1);
      assert.equal(model.requests.length, 1, "one run's model calls");

      // Once it has ended, the same call answers at once from it.
      const again = await call(host, keyed("call-1"));
      assert.deepEqual(again.content, ANSWER);
      assert.equal(again._meta?.[RUN_ID_META], firstRun);
      assert.equal(model.requests.length, 1, "and calls nothing");

      // Without a key, as before: the call sent again is another run.
      const unkeyedRun = await callAndTimeOut(host, {}, GIVE_UP_MS);
      const unkeyed = await call(host, {});
      assert.deepEqual(unkeyed.content, ANSWER);
      assert.notEqual(unkeyed._meta?.[RUN_ID_META], unkeyedRun);
      assert.equal(await runsCreated(), 3);
    });
  });
}

Deno.test("MCP idempotency: a keyed call sent again whose stream drops resumes the first call's run", async () => {
  await withApp(true, SLOW_MS, async ({ model, url, client, runsCreated }) => {
    // The retry's stream is cut after its first event (the priming event, written before the call is answered):
    // the client resumes from that event's id, which must name the run the key names.
    const proxy = startDropProxy({ post: url, get: url }, () => true);
    try {
      const firstRun = await callAndTimeOut(await client(), keyed("dropped"), GIVE_UP_MS);
      const result = await call(await client(auth(KEY_A), proxy.url), keyed("dropped"));
      assert.deepEqual(result.content, ANSWER, JSON.stringify(result));
      assert.equal(result._meta?.[RUN_ID_META], firstRun);
      assert.ok(proxy.requests.some((request) => request.method === "GET" && request.lastEventId), "it was resumed");
      assert.equal(await runsCreated(), 1);
      assert.equal(model.requests.length, 1);
    } finally {
      await proxy.close();
    }
  });
});

Deno.test("MCP idempotency: a call that cannot resume leaves its run going for the same key, not cancelled", async () => {
  await withApp(true, 500, async ({ model, url, client, runsCreated }) => {
    // An older client's call (no resumable stream): its caller leaves mid-run. Without a key its run is cancelled.
    const firstRun = await callThenLeave(url, auth(KEY_A), keyed("left"));
    const result = await call(await client(), keyed("left"), { args: { task: "slow" } });
    assert.deepEqual(result.content, ANSWER, JSON.stringify(result));
    assert.equal(result._meta?.[RUN_ID_META], firstRun);
    assert.equal(await runsCreated(), 1);
    assert.equal(model.requests.length, 1);
    const run = await apiClient(url, { apiKey: KEY_A }).get(`/v1/runs/${firstRun}`);
    assert.equal(run.body.status, "succeeded");
  });
});

Deno.test("MCP idempotency: a key names one caller's call; another caller's same key is its own call", async () => {
  await withApp(true, 0, async ({ model, client, runsCreated }) => {
    const [a, b] = [await client(auth(KEY_A)), await client(auth(KEY_B))];
    const first = await call(a, keyed("shared"));
    const other = await call(b, keyed("shared"));
    assert.deepEqual(other.content, ANSWER);
    assert.notEqual(other._meta?.[RUN_ID_META], first._meta?.[RUN_ID_META], "B never gets A's run");
    const again = await call(a, keyed("shared"));
    assert.equal(again._meta?.[RUN_ID_META], first._meta?.[RUN_ID_META], "A's retry gets A's run");
    const againB = await call(b, keyed("shared"));
    assert.equal(againB._meta?.[RUN_ID_META], other._meta?.[RUN_ID_META], "B's retry gets B's run");
    assert.equal(await runsCreated(), 2);
    assert.equal(model.requests.length, 2);
  });
});

Deno.test("MCP idempotency: a key reused for another call is refused and runs nothing", async () => {
  await withApp(false, 0, async ({ model, client, runsCreated }) => {
    const host = await client();
    const args = { task: "6 x 7?", additionalArgs: { x: 1, y: [2, { a: 3, b: 4 }] } };
    const first = await call(host, keyed("once"), { args });
    assert.deepEqual(first.content, ANSWER);
    const runId = first._meta?.[RUN_ID_META];
    // The same arguments written in another order are the same call.
    const reordered = { additionalArgs: { y: [2, { b: 4, a: 3 }], x: 1 }, task: "6 x 7?" };
    assert.equal((await call(host, keyed("once"), { args: reordered }))._meta?.[RUN_ID_META], runId);

    for (const other of [{ args: { ...args, task: "7 x 6?" } }, { args: { task: "6 x 7?" } }, { name: "twin", args }]) {
      const refused = await call(host, keyed("once"), other);
      assert.equal(refused.isError, true, JSON.stringify(refused));
      const text = (refused.content as { text: string }[])[0].text;
      assert.match(text, /idempotency key was already used for another request/);
      assert.equal(refused._meta?.[RUN_ID_META], undefined, "names no run");
    }
    assert.equal(await runsCreated(), 1);
    assert.equal(model.requests.length, 1);
  });
});

Deno.test("MCP idempotency: the POST's Idempotency-Key header names its call; a malformed key is refused", async () => {
  await withApp(true, 0, async ({ client, runsCreated }) => {
    const headers = { ...auth(KEY_A), "Idempotency-Key": "from-header" };
    const [first, second] = [await client(headers), await client(headers)];
    const result = await call(first, {});
    const again = await call(second, {});
    assert.deepEqual(again.content, ANSWER);
    assert.equal(again._meta?.[RUN_ID_META], result._meta?.[RUN_ID_META]);
    // The call's own `_meta` key wins over the header.
    const own = await call(second, keyed("own"));
    assert.notEqual(own._meta?.[RUN_ID_META], result._meta?.[RUN_ID_META]);
    assert.equal(await runsCreated(), 2);

    for (const bad of ["", "k".repeat(201), 42]) {
      await assert.rejects(
        call(first, keyed(bad as string)),
        (error) => error instanceof McpError && (error as McpError).code === ErrorCode.InvalidParams,
      );
    }
    assert.equal(await runsCreated(), 2, "a malformed key starts nothing");
  });
});

Deno.test("MCP idempotency: a batch's calls are not all named by the POST's one Idempotency-Key header", async () => {
  await withApp(false, 0, async ({ url, model, runsCreated }) => {
    model.setHandler((request) => {
      const second = JSON.stringify(request.body.messages).includes("second task");
      return toolCallReply("final_answer", { answer: second ? "B" : "A" });
    });
    const call = (id: number, task: string, meta?: Record<string, unknown>) => ({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "helper", arguments: { task }, ...(meta ? { _meta: meta } : {}) },
    });
    /** POSTs a batch (a client of a protocol that has them) with the header; each call's result by its id. */
    const batch = async (messages: unknown[]) => {
      const response = await fetch(`${url}/mcp`, {
        method: "POST",
        headers: {
          ...auth(KEY_A),
          "Content-Type": "application/json",
          Accept: "application/json, text/event-stream",
          "mcp-protocol-version": "2025-03-26",
          "Idempotency-Key": "batch-header",
        },
        body: JSON.stringify(messages),
      });
      assert.equal(response.status, 200);
      const answers = (await response.text()).match(/^data: (.*)$/gm)!.map((line) => JSON.parse(line.slice(6)));
      return new Map(answers.map((answer) => [answer.id, answer]));
    };
    // The header cannot tell the batch's calls apart: each is refused (-32602) and none runs, rather than the
    // first taking the key and the others answered "in progress" now and "key reused" on every retry.
    const refused = await batch([call(1, "first task"), call(2, "second task")]);
    for (const id of [1, 2]) {
      assert.equal(refused.get(id)?.error?.code, ErrorCode.InvalidParams, JSON.stringify(refused.get(id)));
    }
    assert.match(refused.get(1)!.error.message, /smolstep\/idempotencyKey/);
    assert.equal(await runsCreated(), 0);
    assert.equal(model.requests.length, 0);
    // Each call named by its own `_meta` key runs, and the same batch sent again answers from the same runs.
    const named = [call(1, "first task", keyed("batch-1")), call(2, "second task", keyed("batch-2"))];
    for (let attempt = 0; attempt < 2; attempt++) {
      const answered = await batch(named);
      assert.deepEqual(
        answered.get(1)?.result?.content,
        [{ type: "text", text: "A" }],
        JSON.stringify(answered.get(1)),
      );
      assert.deepEqual(
        answered.get(2)?.result?.content,
        [{ type: "text", text: "B" }],
        JSON.stringify(answered.get(2)),
      );
    }
    assert.equal(await runsCreated(), 2);
    assert.equal(model.requests.length, 2);
  });
});

Deno.test("MCP idempotency: a keyed call refused by a full server (503 overloaded) runs when sent again", async () => {
  await using model = await startScriptedModelServer();
  const kv = await Deno.openKv(":memory:");
  // No queue: a call steps its run in the request, within the one place among the steps in flight.
  const app = serveApp({
    agents: helperAgents(model),
    store: new DenoKvStore(kv),
    apiKeys: [KEY_A],
    maxStepsInFlight: 1,
    plugins: [mcpServer()],
  });
  const clients: Client[] = [];
  const client = async () => {
    const { client } = await connect(app.url, auth(KEY_A));
    clients.push(client);
    return client;
  };
  try {
    // An unkeyed call holds the one place while its model answers.
    model.enqueue({ ...toolCallReply("final_answer", { answer: "held" }), delayMs: 1_000 });
    const holding = call(await client(), {});
    await until(() => model.requests.length === 1);
    const host = await client();
    const refused = await call(host, keyed("overloaded-call"));
    assert.equal(refused.isError, true);
    assert.match(JSON.stringify(refused.content), /maximum of 1 steps/);
    assert.deepEqual((await holding).content, [{ type: "text", text: "held" }]);
    // The place is free: the same call sent again (as the refusal asks) runs, instead of finding its key held by the
    // request that was refused ("starting its run") until the claim expires (the lock's time, 5 minutes).
    model.enqueue(toolCallReply("final_answer", { answer: "42" }));
    const again = await call(host, keyed("overloaded-call"));
    assert.deepEqual(again.content, ANSWER, JSON.stringify(again));
    assert.equal(model.requests.length, 2);
  } finally {
    for (const open of clients) await open.close();
    await app.close();
    kv.close();
  }
});
