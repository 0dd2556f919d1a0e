/**
 * Property-based fuzzing of the HTTP surface (fast-check, fixed seed, bounded count): random methods and paths among
 * the real routes, random headers and random bodies (valid-ish requests, garbage, deep JSON, huge strings, wrong
 * types, lone surrogates, raw bytes) against the real app on a real store (Deno KV :memory:) with an in-process
 * model. Properties, for every request:
 * - no 5xx: this server has a store, a secret, a queue and a model that never fails, so not even the documented
 *   configuration answers (501 `*_not_configured`, 502 `model_error`, 503 `not_configured`) may occur;
 * - every 4xx is a JSON `{error: {code, message}}` and leaves every stored record byte-identical (as the store reads
 *   it back: a failed step may take the run's lock and put the same bytes back).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { type ChatMessage, type ModelFunction, ToolCallingAgent } from "../../lib/mod.ts";
import { createSmolstep, type QueueMessage } from "../../lib/server.ts";
import { createExampleModel } from "../../functions/agents.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { deleteFileTool, echoTool } from "../support/approval_tools.ts";
import { storeSnapshot } from "../support/kv_snapshot.ts";

const SEED = 9_006;
const RUNS = 1_000;
const API_KEY = "fuzz-key-0123456789";
/** Longest task generated: up to the 1 MiB body limit (tasks over the store's limit are a 413 task_too_large). */
const MAX_TASK_CHARS = 1_048_000;

/** Calls `echo` twice then answers; a task with "approve" first calls `delete_file`, which needs approval. */
const model: ModelFunction = (messages: ChatMessage[]) => {
  const task = String(messages.find((m) => m.role === "user")?.content ?? "");
  const observed = messages.filter((m) => /^(Observation|Error):/.test(String(m.content))).length;
  const call = (name: string, args: Record<string, unknown>) => ({
    content: null,
    toolCalls: [{ id: `call_${observed}`, type: "function" as const, function: { name, arguments: args } }],
  });
  if (task.includes("approve") && observed === 0) return call("delete_file", { path: "/x" });
  return observed < 2 ? call("echo", { text: "e" }) : call("final_answer", { answer: "done" });
};

const agent = new ToolCallingAgent({
  name: "ops",
  model,
  tools: [echoTool, deleteFileTool()],
  maxSteps: 6,
});

type Body = string | Uint8Array<ArrayBuffer> | undefined;
type FuzzRequest = {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
};

/** Deeply nested JSON of a random shape: arrays, objects, or both. */
const deepJson = fc.tuple(fc.integer({ min: 1, max: 60_000 }), fc.constantFrom("[", '{"a":', '{"additionalArgs":'))
  .map(([depth, open]) => {
    const close = open === "[" ? "]" : "}";
    return `{"task":"deep","additionalArgs":{"x":${open.repeat(depth)}1${close.repeat(depth)}}}`;
  });

const text = fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.string({ unit: "binary" }));

/** Mostly `value`, sometimes absent: each request varies a few things, so most get past the front door. */
const sometimes = <T>(value: fc.Arbitrary<T>) => fc.option(value, { nil: undefined, freq: 3 });
/** `value` in `times` of `outOf` cases, else undefined. */
const rarely = <T>(value: fc.Arbitrary<T>, times: number, outOf: number) =>
  fc.oneof({ weight: times, arbitrary: value.map((v) => ({ v })) }, {
    weight: outOf - times,
    arbitrary: fc.constant(undefined),
  });
const withoutUndefined = <T extends object>(value: T) =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

/** `runIds` and `tokens` are read at generation time: runs the fuzzer creates join the targets. */
function requests(runIds: string[], tokens: string[]): fc.Arbitrary<FuzzRequest> {
  const agentName = fc.oneof(
    { weight: 8, arbitrary: fc.constant("ops") },
    { weight: 1, arbitrary: fc.constantFrom("nope", "__proto__", "constructor", "%00", "o%2Fps", "x".repeat(300)) },
  );
  const pick = (list: string[]) => fc.nat().map((i) => list[i % list.length]);
  const runId = fc.oneof(
    { weight: 8, arbitrary: pick(runIds) },
    { weight: 1, arbitrary: fc.constantFrom("missing", "..%2F..", "%F0%9F%92%A5", "__proto__", "a".repeat(500)) },
  );
  const state = fc.oneof(
    { weight: 6, arbitrary: pick(tokens) },
    { weight: 1, arbitrary: fc.oneof(fc.string(), pick(tokens).map((t) => t.slice(0, -4) + "AAAA")) },
  );
  const validRun = fc.record({
    task: fc.oneof(fc.string({ minLength: 1 }), fc.constant("approve this"), text),
    maxSteps: sometimes(fc.integer({ min: 1, max: 6 })),
    additionalArgs: sometimes(fc.dictionary(fc.string({ minLength: 1 }), fc.jsonValue({ maxDepth: 3 }))),
    images: sometimes(fc.array(fc.constant("data:image/png;base64,iVBORw0KGgo="), { maxLength: 2 })),
    stateless: sometimes(fc.boolean()),
    background: sometimes(fc.boolean()),
  }).map(withoutUndefined);
  const wrong = fc.record({
    key: fc.constantFrom(
      "task",
      "maxSteps",
      "maxIterations",
      "additionalArgs",
      "images",
      "stateless",
      "callbackUrl",
      "x",
    ),
    value: fc.oneof(fc.anything(), text, fc.webUrl(), fc.integer()),
  });
  const runBody = fc.oneof(
    { weight: 3, arbitrary: validRun },
    { weight: 2, arbitrary: fc.tuple(validRun, wrong).map(([body, { key, value }]) => ({ ...body, [key]: value })) },
  );
  const inputBody = fc.oneof(
    fc.record({ approve: fc.oneof(fc.boolean(), fc.jsonValue()), reason: sometimes(text) }).map(withoutUndefined),
    fc.record({ answer: text }),
  ).chain((input) => sometimes(state).map((s) => (s === undefined ? input : { ...input, state: s })));
  const json = <T>(value: fc.Arbitrary<T>) => value.map((v): Body => JSON.stringify(v));
  const garbage: fc.Arbitrary<Body> = fc.oneof(
    fc.constant(undefined),
    fc.constant("{}"),
    json(fc.jsonValue()),
    deepJson,
    fc.integer({ min: 0, max: MAX_TASK_CHARS }).map((n) => `{"task":"${"x".repeat(n)}"}`),
    fc.integer({ min: 1_048_577, max: 1_200_000 }).map((n) => `{"task":"${"x".repeat(n)}"}`),
    fc.integer({ min: 90_000, max: 200_000 }).map((n) => `[${"0,".repeat(n)}0]`),
    text,
    fc.uint8Array({ maxLength: 200 }).map((bytes) => new Uint8Array(bytes)),
  );
  const noBody = fc.constantFrom<Body>(undefined, "{}");
  const stateBody = json(state.map((s) => ({ state: s })));
  /** Each route with its method and the body it takes; the fuzzer then mixes in wrong methods and other bodies. */
  const routes: fc.Arbitrary<{ method: string; path: string; body: Body }> = fc.oneof(
    fc.record({ method: fc.constant("GET"), path: fc.constantFrom("/health", "/v1/agents"), body: noBody }),
    {
      weight: 3,
      arbitrary: fc.record({
        method: fc.constant("POST"),
        path: agentName.map((a) => `/v1/agents/${a}/runs`),
        body: json(runBody),
      }),
    },
    fc.record({ method: fc.constant("POST"), path: agentName.map((a) => `/v1/agents/${a}/steps`), body: stateBody }),
    fc.record({
      method: fc.constant("POST"),
      path: agentName.map((a) => `/v1/agents/${a}/input`),
      body: json(inputBody),
    }),
    fc.record({ method: fc.constant("GET"), path: runId.map((r) => `/v1/runs/${r}`), body: noBody }),
    fc.record({ method: fc.constant("GET"), path: runId.map((r) => `/v1/runs/${r}/events`), body: noBody }),
    {
      weight: 3,
      arbitrary: fc.record({
        method: fc.constant("POST"),
        path: runId.map((r) => `/v1/runs/${r}/steps`),
        body: noBody,
      }),
    },
    fc.record({ method: fc.constant("POST"), path: runId.map((r) => `/v1/runs/${r}/cancel`), body: noBody }),
    {
      weight: 2,
      arbitrary: fc.record({
        method: fc.constant("POST"),
        path: runId.map((r) => `/v1/runs/${r}/input`),
        body: json(inputBody),
      }),
    },
    fc.record({ method: fc.constant("POST"), path: agentName.map((a) => `/v1/hooks/${a}`), body: garbage }),
    fc.record({ method: fc.constant("POST"), path: fc.webPath(), body: garbage }),
  );
  const otherMethod = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD");
  const contentType = fc.oneof(
    { weight: 10, arbitrary: fc.constant("application/json") },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        undefined,
        "application/json; charset=utf-8",
        "application/json; charset=latin1",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json, text/plain",
      ),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  );
  const headers = fc.record({
    "Content-Type": contentType,
    "Idempotency-Key": sometimes(fc.string({ maxLength: 260 })),
    Authorization: fc.oneof(
      { weight: 12, arbitrary: fc.constant(`Bearer ${API_KEY}`) },
      { weight: 1, arbitrary: fc.constantFrom(undefined, "Basic x", `bearer ${API_KEY}`) },
      { weight: 1, arbitrary: fc.string().map((s) => `Bearer ${s}`) },
    ),
    "Last-Event-ID": sometimes(fc.oneof(fc.nat().map(String), fc.string({ maxLength: 20 }))),
    "X-Smolstep-Signature": sometimes(fc.string({ maxLength: 80 })),
    "X-Smolstep-Timestamp": sometimes(fc.oneof(fc.nat().map(String), fc.string({ maxLength: 12 }))),
  });
  const request = fc.record({
    route: routes,
    method: rarely(otherMethod, 1, 8),
    body: rarely(garbage, 1, 4),
    headers,
  }).map(({ route, method, body, headers }) => ({
    path: route.path,
    method: method ? method.v : route.method,
    body: body ? body.v : route.body,
    headers,
  }));
  return request.map((r) => ({
    ...r,
    // Header values must be printable ASCII here: fetch itself refuses line breaks and non-ByteStrings.
    headers: Object.fromEntries(
      Object.entries(r.headers).filter((entry): entry is [string, string] =>
        typeof entry[1] === "string" && /^[\x20-\x7e]*$/.test(entry[1])
      ),
    ),
    body: r.method === "GET" || r.method === "HEAD" ? undefined : r.body,
  }));
}

const describe = (r: FuzzRequest) =>
  `${r.method} ${r.path.slice(0, 200)} headers=${JSON.stringify(r.headers)} body=${
    typeof r.body === "string" ? JSON.stringify(r.body.slice(0, 300)) : r.body && `bytes(${r.body.length})`
  }`;

/**
 * Sends `RUNS` generated requests to `app`, one at a time. Fails on a 5xx unless `allowed5xx` lists its status and
 * error code, on a 4xx that is not a JSON error, and on a 4xx after which `snapshot()` differs. Returns the count of
 * each status.
 */
async function fuzz(
  app: { request: (path: string, init: RequestInit) => Response | Promise<Response> },
  runIds: string[],
  tokens: string[],
  options: { snapshot?: () => Promise<unknown>; allowed5xx?: Record<number, string[]>; runs?: number },
): Promise<Map<number, number>> {
  const seen = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(requests(runIds, tokens), async (request) => {
      const before = await options.snapshot?.();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const response = await Promise.race([
        app.request(request.path, { method: request.method, headers: request.headers, body: request.body }),
        new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error("no answer in 10 s")), 10_000)),
      ]).finally(() => clearTimeout(timer));
      seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
      const what = `${response.status} for ${describe(request)}`;
      if (request.method === "HEAD") {
        // No body to name the error: a HEAD may only fail as a GET of the same route may.
        await response.body?.cancel();
        assert.ok(response.status < 500 || options.allowed5xx?.[response.status], what);
        return;
      }
      if (response.status < 400) {
        const json = response.headers.get("Content-Type")?.startsWith("application/json");
        const body = json ? await response.json() : await response.body?.cancel();
        if (typeof body?.runId === "string" && !runIds.includes(body.runId)) runIds.push(body.runId);
        if (typeof body?.state === "string") tokens.push(body.state);
        return;
      }
      const body = await response.text();
      const error = JSON.parse(body).error;
      assert.equal(typeof error?.code, "string", `${what}: ${body.slice(0, 300)}`);
      assert.equal(typeof error?.message, "string", what);
      if (response.status >= 500) {
        assert.ok(options.allowed5xx?.[response.status]?.includes(error.code), `${what}: ${body.slice(0, 300)}`);
      }
      if (options.snapshot) {
        assert.deepEqual(await options.snapshot(), before, `${what} (${error.code}) changed the store`);
      }
    }),
    { seed: SEED, numRuns: options.runs ?? RUNS, endOnFailure: true },
  );
  return seen;
}

Deno.test("fuzz, full configuration: no input yields a 5xx, and a 4xx changes no stored record", async () => {
  const kv = await Deno.openKv(":memory:");
  const enqueued: QueueMessage[] = [];
  // A queue that keeps its messages: background runs are accepted, and nothing changes the store behind our back.
  const queue = { enqueue: (message: QueueMessage) => (enqueued.push(message), Promise.resolve()) };
  const store = new DenoKvStore(kv);
  const { app } = createSmolstep({
    agents: { ops: agent },
    store,
    secret: "fuzz-secret-0123456789",
    apiKeys: [API_KEY],
    queue,
    webhookSecret: "fuzz-hook-secret-0123456789",
    webhooks: { ops: { task: "Hook: {{payload}}" } },
    events: { pollMs: 5, maxDurationMs: 20 },
  });
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await app.request(path, {
      method,
      headers: { Authorization: `Bearer ${API_KEY}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return await response.json();
  };

  // Runs in every state, and stateless tokens, for the fuzzer to aim at.
  const runIds: string[] = [];
  for (const task of ["idle", "approve me", "approve and finish", "finished", "to cancel"]) {
    runIds.push((await call("POST", "/v1/agents/ops/runs", { task })).runId);
  }
  await call("POST", `/v1/runs/${runIds[1]}/steps`);
  await call("POST", `/v1/runs/${runIds[2]}/steps`);
  await call("POST", `/v1/runs/${runIds[2]}/input`, { approve: true });
  for (let i = 0; i < 4; i++) await call("POST", `/v1/runs/${runIds[3]}/steps`);
  await call("POST", `/v1/runs/${runIds[4]}/cancel`);
  const statuses = await Promise.all(runIds.map(async (id) => (await call("GET", `/v1/runs/${id}`)).status));
  assert.deepEqual(statuses, ["running", "awaiting_input", "running", "succeeded", "cancelled"]);
  const tokens = [(await call("POST", "/v1/agents/ops/runs", { task: "approve s", stateless: true })).state];
  tokens.push((await call("POST", "/v1/agents/ops/steps", { state: tokens[0] })).state);

  let seen: Map<number, number>;
  try {
    seen = await fuzz(app, runIds, tokens, { snapshot: () => storeSnapshot(kv, store) });
  } finally {
    kv.close();
  }
  // The fuzzer reached far past the front door: successes, every kind of refusal.
  const count = (from: number, to: number) =>
    [...seen].filter(([s]) => s >= from && s < to).reduce((n, [, c]) => n + c, 0);
  assert.ok(count(200, 300) >= 30, `2xx: ${JSON.stringify([...seen])}`);
  for (const status of [400, 401, 404, 409, 413, 415]) {
    assert.ok(seen.has(status), `${status}: ${JSON.stringify([...seen])}`);
  }
});

Deno.test("fuzz, partial configuration: the only 5xx are the documented 501 and 503", async () => {
  // No store, no queue, no webhooks, no model configured: only stateless runs, which fail at the model.
  const unconfigured = new ToolCallingAgent({ name: "ops", model: createExampleModel({}), tools: [echoTool] });
  const { app } = createSmolstep({ agents: { ops: unconfigured }, secret: "fuzz-secret-0123456789" });
  const created = await app.request("/v1/agents/ops/runs", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ task: "x", stateless: true }),
  });
  const tokens = [(await created.json()).state];
  const seen = await fuzz(app, ["00000000-0000-0000-0000-000000000000"], tokens, {
    runs: 300,
    allowed5xx: {
      501: ["store_not_configured", "queue_not_configured"],
      503: ["not_configured"],
    },
  });
  for (const status of [501, 503]) assert.ok(seen.has(status), `${status}: ${JSON.stringify([...seen])}`);
});
