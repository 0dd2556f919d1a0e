/**
 * The followers' read limit on the Workers entry under `wrangler dev` (functions/worker.ts, wrangler.toml: Durable
 * Object store, STEPS queue), where each read of a run is a subrequest: with SMOLSTEP_FOLLOW_MAX_READS set low, a
 * long background run is followed to its end by the official MCP SDK client (its tool call's stream closed at the
 * limit, resumed with GET /mcp + Last-Event-ID, more than once) and by the typed client's event stream (closed
 * with `retry:`, reconnected with Last-Event-ID). Requests go through a pass-through proxy that records them.
 */
import assert from "node:assert/strict";
import { createClient, type RunEvent } from "../../lib/client.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { startExampleWorker } from "../support/wrangler_dev.ts";
import { startDropProxy } from "./mcp_drop_proxy.ts";
import { callAssistantThroughProxy } from "./mcp_server_support.ts";

/** A run of three steps, each model call this slow: longer than a follower's reads last at the limit. */
const slowRun = (delayMs: number) => [
  { ...toolCallReply("calculator", { expression: "6 * 7" }), delayMs },
  { ...toolCallReply("calculator", { expression: "42 + 0" }), delayMs },
  { ...toolCallReply("final_answer", { answer: "42" }), delayMs },
];

Deno.test("Workers entry under wrangler dev: followers end at SMOLSTEP_FOLLOW_MAX_READS and their clients resume", async (t) => {
  const model = await startScriptedModelServer();
  const worker = await startExampleWorker(model.url, { SMOLSTEP_FOLLOW_MAX_READS: "4" });
  const auth = { Authorization: "Bearer worker-key" };
  const api = apiClient(worker.url, { apiKey: "worker-key" });
  try {
    await t.step("MCP tools/call: the SDK client resumes the stream closed at the limit, to the result", async () => {
      model.reset();
      model.enqueue(...slowRun(2_500));
      // Nothing is cut: the proxy only records the requests (and each GET's Last-Event-ID).
      const { result, progress, requests } = await callAssistantThroughProxy(worker.url, auth, () => false, 60_000);
      assert.deepEqual(result.content, [{ type: "text", text: "42" }], JSON.stringify(result));
      const run = await api.get(`/v1/runs/${result._meta?.["smolstep/runId"]}`);
      assert.equal(run.body.status, "succeeded");
      assert.deepEqual(progress, [...Array(run.body.steps.length).keys()], "every notification once");
      const resumed = requests.filter((request) => request.method === "GET" && request.lastEventId);
      assert.ok(resumed.length >= 2, `resumed after forced ends: ${JSON.stringify(requests)}`);
      assert.ok(resumed.every((request) => request.status === 200), JSON.stringify(requests));
      assert.equal(model.requests.length, 3, "one run, three model calls");
    });

    await t.step("GET /v1/runs/{id}/events: the typed client follows through streams closed at the limit", async () => {
      model.reset();
      model.enqueue(...slowRun(2_500));
      const { body } = await api.post("/v1/agents/assistant/runs", { task: "6 times 7?", background: true });
      const raw = await fetch(`${worker.url}/v1/runs/${body.runId}/events`, {
        headers: auth,
        signal: AbortSignal.timeout(30_000),
      });
      assert.match(await raw.text(), /retry: 1000\n\n$/, "the first stream ends at the limit, with retry:");
      const proxy = startDropProxy({ post: worker.url, get: worker.url }, () => false);
      const events: RunEvent[] = [];
      try {
        const client = createClient({ baseUrl: proxy.url, apiKey: "worker-key" });
        for await (const event of client.events(body.runId, { signal: AbortSignal.timeout(60_000) })) {
          events.push(event);
        }
      } finally {
        await proxy.close();
      }
      const run = await api.get(`/v1/runs/${body.runId}`);
      assert.equal(run.body.status, "succeeded");
      const steps = events.flatMap((event) => event.type === "step" ? [event.id] : []);
      assert.deepEqual(steps, [...Array(run.body.steps.length).keys()], "every step once, in order");
      assert.equal(events.at(-1)?.type, "end");
      const streams = proxy.requests.filter((request) => request.method === "GET");
      assert.ok(streams.length >= 3, `reconnected after forced ends: ${JSON.stringify(proxy.requests)}`);
    });
  } finally {
    await worker.close();
    await model.close();
  }
});
