import assert from "node:assert/strict";
import { type CallToolResult, CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { decodeBase64Url, encodeBase64Url } from "../../lib/base64.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { eventIdKey, readEventId, signEventId } from "../../lib/mcp/server/mcp_event_ids.ts";
import { mcpServer, RUN_ID_META } from "../../lib/mcp/server/mod.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { runsCreated, startDropProxy } from "./mcp_drop_proxy.ts";
import { connect, helperAgents, serveApp } from "./mcp_server_support.ts";

/**
 * Resumable tool calls (Streamable HTTP "Resumability and Redelivery", lib/mcp/server/mcp_resume.ts): the official
 * SDK client's `tools/call` stream is cut by a loopback proxy mid-run; the client reconnects by itself with
 * `GET /mcp` + `Last-Event-ID`, which the proxy sends to the other instance (one Deno KV database, nothing shared in
 * memory), and gets the rest of the progress and the final result. One run, never a second.
 */

const KEY_A = "resume-key-a";
const KEY_B = "resume-key-b";
/** Short enough that a call the client cannot resume fails the test rather than hanging it. */
const CALL_TIMEOUT_MS = 10_000;
/** The model's replies for a call of two steps: `add`, then (`delayMs` later) the final answer "three". */
const twoSteps = (delayMs: number) => [
  toolCallReply("add", { a: 1, b: 2 }),
  { ...toolCallReply("final_answer", { answer: "three" }), delayMs },
];
type Progress = { progress: number; message?: string; _meta?: Record<string, unknown> };

async function twoInstances(background: boolean, apiKeys?: string[]) {
  const model = await startScriptedModelServer();
  const path = await Deno.makeTempFile({ suffix: ".sqlite" });
  const kvs = [await Deno.openKv(path), await Deno.openKv(path)];
  const apps = kvs.map((kv) =>
    serveApp({
      agents: helperAgents(model),
      store: new DenoKvStore(kv),
      background,
      // Longer than the model's slowest reply: no watchdog copy of a step message takes the step again.
      ...(background ? { lockTtlMs: 2_000 } : {}),
      apiKeys,
      events: { pollMs: 20 },
      plugins: [mcpServer()],
    })
  );
  return {
    model,
    apps,
    async close() {
      for (const app of apps) await app.close();
      for (const kv of kvs) kv.close();
      await model.close();
      await Deno.remove(path).catch(() => {});
    },
  };
}

/** A call through a proxy that drops its stream after the event `cutAfter` picks; what the client saw. */
async function callThroughDrop(
  apps: { url: string }[],
  cutAfter: (event: string) => boolean,
  withProgress: boolean,
  cutGetAfter?: (event: string) => boolean,
) {
  const proxy = startDropProxy({ post: apps[0].url, get: apps[1].url }, cutAfter, cutGetAfter);
  const { client } = await connect(proxy.url);
  const progress: Progress[] = [];
  try {
    const result = await client.callTool({ name: "helper", arguments: { task: "1 + 2?" } }, undefined, {
      timeout: CALL_TIMEOUT_MS,
      ...(withProgress ? { onprogress: (p: Progress) => void progress.push(p) } : {}),
    }) as CallToolResult;
    return { result, progress, requests: proxy.requests };
  } finally {
    await client.close();
    await proxy.close();
  }
}

/** A call straight to `url` (to its end), and the event ids (resumption tokens) its stream carried. */
async function callKeepingTokens(url: string, headers: Record<string, string> = {}) {
  const { client } = await connect(url, headers);
  const tokens: string[] = [];
  const first = await client.callTool({ name: "helper", arguments: { task: "1 + 2?" } }, undefined, {
    onresumptiontoken: (token: string) => void tokens.push(token),
  }) as CallToolResult;
  await client.close();
  return { first, tokens };
}

/** The proxy's record: one POST `tools/call` stream cut, then resumed by GETs with Last-Event-ID, the last 200. */
function assertResumedOnce(requests: { method: string; status: number; lastEventId: string | null }[]) {
  const gets = requests.filter((request) => request.method === "GET" && request.lastEventId);
  assert.ok(gets.length >= 1, JSON.stringify(requests));
  assert.equal(gets.at(-1)?.status, 200, JSON.stringify(requests));
  assert.ok(gets.every((get) => get.lastEventId?.startsWith("m1.")), JSON.stringify(gets));
}

Deno.test("MCP resume: a background call's dropped stream is resumed on another instance, one run", async (t) => {
  const env = await twoInstances(true);
  const { model, apps } = env;
  try {
    await t.step("cut after the first step's progress: the rest of the progress and the result", async () => {
      model.reset();
      model.enqueue(...twoSteps(500));
      const { result, progress, requests } = await callThroughDrop(apps, (event) => /"progress":1\b/.test(event), true);
      assert.deepEqual(result.content, [{ type: "text", text: "three" }], JSON.stringify(result));
      const runId = result._meta?.[RUN_ID_META] as string;
      assert.equal(result._meta?.["smolstep/mode"], "background");
      // Every progress notification once, in order: 0 names the run, then one per step record.
      assert.deepEqual(progress.map((p) => p.progress), progress.map((_, i) => i), JSON.stringify(progress));
      assert.ok(progress.length >= 3, JSON.stringify(progress));
      assert.equal(progress[0].message, `Run ${runId} started`);
      assert.match(progress[1].message ?? "", /Step 1: add/);
      assert.match(progress[2].message ?? "", /Step 2: final_answer/);
      assertResumedOnce(requests);
      assert.equal(await runsCreated(apps.map((app) => app.url)), 1);
      assert.equal(model.requests.length, 2, "one run, two model calls");
      assert.equal((await apiClient(apps[1].url).get(`/v1/runs/${runId}`)).body.status, "succeeded");
    });

    await t.step(
      "the resumed stream dropped too, before its first message: resumed again from the same id",
      async () => {
        model.reset();
        model.enqueue(...twoSteps(500));
        const before = await runsCreated(apps.map((app) => app.url));
        // The resumed stream opens with the id it resumed from: a client that loses it before any message still
        // has a Last-Event-ID to send (the SDK's client keeps only the ids it reads on the stream it lost).
        const { result, progress, requests } = await callThroughDrop(
          apps,
          (event) => /"progress":1\b/.test(event),
          true,
          (event) => /^id: /m.test(event),
        );
        assert.deepEqual(result.content, [{ type: "text", text: "three" }], JSON.stringify(result));
        assert.deepEqual(progress.map((p) => p.progress), progress.map((_, i) => i), JSON.stringify(progress));
        const gets = requests.filter((request) => request.method === "GET" && request.lastEventId);
        assert.equal(gets.length, 2, JSON.stringify(requests));
        assert.equal(gets[1].lastEventId, gets[0].lastEventId);
        assert.equal(await runsCreated(apps.map((app) => app.url)), before + 1);
        assert.equal(model.requests.length, 2);
      },
    );

    await t.step("no progress token, cut right after the priming event: the result alone", async () => {
      model.reset();
      model.enqueue({ ...toolCallReply("final_answer", { answer: "three" }), delayMs: 300 });
      const before = await runsCreated(apps.map((app) => app.url));
      // The priming event: an id and empty data, before anything else.
      const { result, requests } = await callThroughDrop(apps, (event) => /^id: /m.test(event), false);
      assert.deepEqual(result.content, [{ type: "text", text: "three" }], JSON.stringify(result));
      assertResumedOnce(requests);
      assert.equal(await runsCreated(apps.map((app) => app.url)), before + 1);
      assert.equal(model.requests.length, 1);
    });
  } finally {
    await env.close();
  }
});

Deno.test("MCP resume: a call stepped in the request (no queue) is stepped on by the resumed stream", async () => {
  const env = await twoInstances(false);
  const { model, apps } = env;
  try {
    // The second step is in flight when the stream drops: the first instance lets it go (the run stays at step 1),
    // the second steps the run on. Either way the answer is the same.
    const final = toolCallReply("final_answer", { answer: "three" });
    model.enqueue(toolCallReply("add", { a: 1, b: 2 }), { ...final, delayMs: 400 }, final);
    const { result, progress, requests } = await callThroughDrop(apps, (event) => /"progress":1\b/.test(event), true);
    assert.deepEqual(result.content, [{ type: "text", text: "three" }], JSON.stringify(result));
    assert.equal(result._meta?.["smolstep/mode"], "kv");
    assert.deepEqual(progress.map((p) => p.progress), progress.map((_, i) => i), JSON.stringify(progress));
    assert.match(progress.at(-1)?.message ?? "", /final_answer|Final answer/);
    assertResumedOnce(requests);
    assert.equal(await runsCreated(apps.map((app) => app.url)), 1);
    const run = await apiClient(apps[1].url).get(`/v1/runs/${result._meta?.[RUN_ID_META]}`);
    assert.equal(run.body.status, "succeeded");
  } finally {
    await env.close();
  }
});

Deno.test("MCP resume: only the caller's credentials open its events; the SDK's resumptionToken resumes", async () => {
  const env = await twoInstances(true, [KEY_A, KEY_B]);
  const { model, apps } = env;
  const auth = (key: string) => ({ Authorization: `Bearer ${key}` });
  try {
    model.enqueue(...twoSteps(0));
    const { first, tokens } = await callKeepingTokens(apps[0].url, auth(KEY_A));
    assert.deepEqual(first.content, [{ type: "text", text: "three" }]);
    assert.ok(tokens.length >= 1, "the stream carried event ids");
    const priming = tokens[0];

    const resume = (lastEventId: string, key: string) =>
      fetch(`${apps[1].url}/mcp`, {
        headers: { ...auth(key), Accept: "text/event-stream", "Last-Event-ID": lastEventId },
      });
    // Another caller's key: not found, and nothing of the run.
    const foreign = await resume(priming, KEY_B);
    const foreignText = await foreign.text();
    assert.equal(foreign.status, 404, foreignText);
    assert.doesNotMatch(foreignText, /three|helper/);
    // An id altered by the caller (another run, the same signature): not found either.
    const [prefix, payload, mac] = priming.split(".");
    const fields = JSON.parse(new TextDecoder().decode(decodeBase64Url(payload)!));
    fields[0] = crypto.randomUUID();
    const forged = encodeBase64Url(new TextEncoder().encode(JSON.stringify(fields)));
    const tampered = await resume(`${prefix}.${forged}.${mac}`, KEY_A);
    assert.equal(tampered.status, 404, await tampered.text());
    // Caller B writing an id for A's run with all it knows (its own key, the scheme): refused. The same cursor under
    // the server's key opens (the forgery is well formed: only the key is wrong).
    const serverKey = eventIdKey({ apiKeys: [KEY_A, KEY_B] }, auth(KEY_A).Authorization);
    const cursor = (await readEventId(priming, serverKey))!;
    assert.equal(cursor.runId, first._meta?.[RUN_ID_META]);
    for (const known of [{ apiKeys: [KEY_B] }, {}]) {
      const forgedByB = await signEventId(cursor, eventIdKey(known, auth(KEY_B).Authorization));
      const refused = await resume(forgedByB, KEY_B);
      assert.equal(refused.status, 404, await refused.text());
    }
    const genuine = await resume(await signEventId(cursor, serverKey), KEY_A);
    assert.equal(genuine.status, 200);
    await genuine.body?.cancel();
    // An id of a call whose run was never written (its server stopped first, say): after a short wait, an isError
    // result (a JSON-RPC error would make the SDK client reconnect), so the host calls again rather than waiting.
    const unstarted = await resume(
      await signEventId({ runId: crypto.randomUUID(), requestId: 7, progress: -1 }, serverKey),
      KEY_A,
    );
    assert.equal(unstarted.status, 200);
    assert.match(
      await unstarted.text(),
      /"id":7,"result":\{"content":\[\{"type":"text","text":"The run of this tool call .* was not found.*"isError":true/,
    );
    // The caller's own key, after the run ended: the answer again, to the original request id.
    const own = await resume(priming, KEY_A);
    assert.equal(own.status, 200);
    const text = await own.text();
    assert.match(text, /"text":"three"/);
    assert.match(text, /"id":\d+/);

    // A host that kept the token (restarted, say) resumes through the SDK: the same answer, no new run.
    const restarted = await connect(apps[1].url, auth(KEY_A));
    const again = await restarted.client.request(
      { method: "tools/call", params: { name: "helper", arguments: { task: "1 + 2?" } } },
      CallToolResultSchema,
      { resumptionToken: priming, timeout: CALL_TIMEOUT_MS },
    );
    await restarted.client.close();
    assert.deepEqual(again.content, first.content);
    assert.equal(again._meta?.[RUN_ID_META], first._meta?.[RUN_ID_META]);
    assert.equal(await runsCreated(apps.map((app) => app.url), auth(KEY_A)), 1);
    assert.equal(model.requests.length, 2);
  } finally {
    await env.close();
  }
});

Deno.test("MCP resume: an ended call resumed while the server runs its most steps gets its answer, not 'overloaded'", async () => {
  const model = await startScriptedModelServer();
  const kv = await Deno.openKv(":memory:");
  const app = serveApp({
    agents: helperAgents(model),
    store: new DenoKvStore(kv),
    maxStepsInFlight: 1,
    plugins: [mcpServer()],
  });
  try {
    model.enqueue(...twoSteps(0));
    const { first, tokens } = await callKeepingTokens(app.url);
    assert.deepEqual(first.content, [{ type: "text", text: "three" }]);

    // Another run's step holds the server's one place (its model answers in 2 s).
    model.enqueue({ ...toolCallReply("final_answer", { answer: "slow" }), delayMs: 2_000 });
    const api = apiClient(app.url);
    const { body: other } = await api.post("/v1/agents/helper/runs", { task: "slow" });
    const busy = api.post(`/v1/runs/${other.runId}/steps`);
    while (model.requests.length < 3) await new Promise((resolve) => setTimeout(resolve, 10));

    // The ended run needs no step: its answer, not a final error result.
    const resumed = await fetch(`${app.url}/mcp`, {
      headers: { Accept: "text/event-stream", "Last-Event-ID": tokens[0] },
    });
    const text = await resumed.text();
    assert.match(text, /"text":"three"/, text);
    assert.equal((await busy).status, 200);
  } finally {
    await app.close();
    kv.close();
    await model.close();
  }
});
