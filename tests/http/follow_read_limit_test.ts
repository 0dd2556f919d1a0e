/**
 * The followers' read limit (`events.maxReads`: on Workers each read of a run is a subrequest, 50 per request on
 * the free plan): every face that follows a background run stays within it, per request, and ends as its protocol
 * lets the client go on. Real Deno KV behind a read counter (tests/support/read_limited_app.ts), the run stepped by
 * the test; the typed client and the official MCP SDK client follow runs to their end through the forced ends.
 */
import assert from "node:assert/strict";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { createClient, type RunEvent } from "../../lib/client.ts";
import { RUN_ID_META } from "../../lib/mcp/server/mod.ts";
import { apiClient } from "../support/http_client.ts";
import { type CountedRequest, serveReadLimited } from "../support/read_limited_app.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { connect, helperAgents } from "../mcp/mcp_server_support.ts";

const MAX_READS = 5;
/** Long enough for a follower to spend its reads (and its client to come back) between two steps. */
const STEP_EVERY_MS = 700;
/** A request that would follow a run that never moves past its limit fails the test rather than hanging it. */
const TIMEOUT_MS = 10_000;

const threeAdds = () => [
  toolCallReply("add", { a: 1, b: 2 }),
  toolCallReply("add", { a: 3, b: 4 }),
  toolCallReply("add", { a: 5, b: 6 }),
  toolCallReply("final_answer", { answer: "three" }),
];

async function setup() {
  const model = await startScriptedModelServer({ replies: threeAdds() });
  const app = await serveReadLimited(helperAgents(model), { maxReads: MAX_READS });
  /** Steps the run `runId` to its end, a step every STEP_EVERY_MS. */
  const stepAll = async (runId: string) => {
    while (await app.stepOnce(runId)) await new Promise((resolve) => setTimeout(resolve, STEP_EVERY_MS));
  };
  return {
    app,
    api: apiClient(app.url),
    stepAll,
    async [Symbol.asyncDispose]() {
      await app.close();
      await model.close();
    },
  };
}

const followers = (requests: CountedRequest[], path: RegExp) => requests.filter((request) => path.test(request.path));

Deno.test("events: a stream ends at its read limit with retry:, and the typed client goes on to the end", async () => {
  await using t = await setup();
  const { body } = await t.api.post("/v1/agents/helper/runs", { task: "1 + 2?", background: true });
  const runId = body.runId as string;
  // Nothing moves: the stream reads the run its allowed times and ends, telling EventSource when to come back.
  const raw = await fetch(`${t.app.url}/v1/runs/${runId}/events`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  const text = await raw.text();
  assert.match(text, /retry: 1000\n\n$/);
  assert.doesNotMatch(text, /event: end/);
  const [first] = followers(t.app.requests, /\/events$/);
  assert.equal(first.reads, MAX_READS);

  const client = createClient({ baseUrl: t.app.url });
  const events: RunEvent[] = [];
  const following = (async () => {
    for await (const event of client.events(runId, { signal: AbortSignal.timeout(TIMEOUT_MS) })) events.push(event);
  })();
  await t.stepAll(runId);
  await following;
  const steps = events.flatMap((event) => event.type === "step" ? [event.id] : []);
  const records = (await t.api.get(`/v1/runs/${runId}`)).body.steps.length;
  assert.ok(records >= 5, `the task, three adds, the answer (${records} records)`);
  assert.deepEqual(steps, [...Array(records).keys()], "every step record once, in order");
  assert.equal(events.at(-1)?.type, "end");
  const streams = followers(t.app.requests, /\/events$/);
  assert.ok(streams.length >= 4, `the client reconnected after forced ends (${streams.length} streams)`);
  for (const stream of streams) assert.ok(stream.reads <= MAX_READS, `${stream.reads} reads in one request`);
});

Deno.test("chat completions: at the read limit, an error naming the run (streamed or not), safe to retry with a key", async () => {
  await using t = await setup();
  const chat = (stream: boolean, headers: Record<string, string> = {}) =>
    fetch(`${t.app.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body: JSON.stringify({ model: "helper", messages: [{ role: "user", content: "1 + 2?" }], stream }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  const plain = await chat(false);
  const runId = plain.headers.get("X-Smolstep-Run-Id")!;
  const { error } = await plain.json();
  assert.equal(plain.status, 504);
  assert.equal(error.code, "follow_limit_reached");
  assert.ok(error.message.includes(`GET /v1/runs/${runId}`), error.message);
  assert.equal(plain.headers.get("x-should-retry"), "false", "without a key a retry would start another run");

  const streamed = await chat(true);
  const body = await streamed.text();
  assert.match(body, /"code":"follow_limit_reached"/);
  assert.ok(body.includes(streamed.headers.get("X-Smolstep-Run-Id")!));
  assert.doesNotMatch(body, /\[DONE\]/);

  // With an Idempotency-Key the same request waits on for the same run: the SDKs may retry it.
  const key = { "Idempotency-Key": "follow-limit-1" };
  const keyed = await chat(false, key);
  const keyedRun = keyed.headers.get("X-Smolstep-Run-Id")!;
  assert.equal(keyed.status, 504);
  assert.equal(keyed.headers.get("x-should-retry"), "true");
  await keyed.body?.cancel();
  const stepping = t.stepAll(keyedRun);
  let answer: Response;
  for (let tries = 0; (answer = await chat(false, key)).status === 504; tries++) {
    assert.ok(tries < 100, "the keyed request answers once the run has ended");
    assert.equal(answer.headers.get("X-Smolstep-Run-Id"), keyedRun);
    await answer.body?.cancel();
  }
  await stepping;
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.get("X-Smolstep-Run-Id"), keyedRun);
  assert.equal((await answer.json()).choices[0].message.content, "three");
  for (const request of followers(t.app.requests, /chat\/completions$/)) {
    assert.ok(request.reads <= MAX_READS, `${request.reads} reads in one request`);
  }
});

Deno.test("MCP tools/call: the SDK client resumes a stream closed at the read limit until the result", async () => {
  await using t = await setup();
  const { client } = await connect(t.app.url);
  type Progress = { progress: number; message?: string; _meta?: Record<string, unknown> };
  const progress: Progress[] = [];
  const calling = client.callTool({ name: "helper", arguments: { task: "1 + 2?" } }, undefined, {
    timeout: TIMEOUT_MS,
    onprogress: (p: Progress) => void progress.push(p),
  }) as Promise<CallToolResult>;
  // The run exists once progress 0 names it; then it moves, slower than the follower's reads.
  while (!progress.length) await new Promise((resolve) => setTimeout(resolve, 10));
  await t.stepAll(progress[0]._meta?.[RUN_ID_META] as string);
  const result = await calling;
  await client.close();
  assert.deepEqual(result.content, [{ type: "text", text: "three" }]);
  assert.equal(result._meta?.["smolstep/status"], "succeeded");
  // Progress 0 names the run, then one notification per step record after the task.
  const records = (await t.api.get(`/v1/runs/${result._meta?.[RUN_ID_META]}`)).body.steps.length;
  assert.deepEqual(progress.map((p) => p.progress), [...Array(records).keys()], "every notification once");
  const mcp = followers(t.app.requests, /^\/mcp$/);
  // (The client's first GET, without an id, asks for a stream of its own: 405, this server keeps none.)
  const resumed = mcp.filter((request) => request.method === "GET" && request.lastEventId);
  assert.ok(resumed.length >= 2, `the client came back with GET /mcp and Last-Event-ID (${resumed.length} times)`);
  for (const request of mcp) assert.ok(request.reads <= MAX_READS, `${request.method}: ${request.reads} reads`);
});

Deno.test("MCP tools/call of an older client (no resumption): at the read limit, a result naming the run", async () => {
  await using t = await setup();
  const response = await fetch(`${t.app.url}/mcp`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-06-18",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "helper", arguments: { task: "1 + 2?" } },
    }),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await response.text();
  const data = text.split("\n").filter((line) => line.startsWith("data: {")).map((line) => JSON.parse(line.slice(6)));
  const answer = data.find((message) => message.id === 7);
  const runId = answer.result._meta[RUN_ID_META];
  assert.equal(answer.result.isError, true);
  assert.equal(answer.result._meta["smolstep/status"], "running");
  assert.ok(answer.result.content[0].text.includes(`GET /v1/runs/${runId}`));
  const [post] = followers(t.app.requests, /^\/mcp$/);
  assert.ok(post.reads <= MAX_READS, `${post.reads} reads`);
});
