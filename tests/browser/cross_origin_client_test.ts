/**
 * The typed client (lib/client.ts), bundled for the browser, driven from a page on ANOTHER origin in a real Chromium
 * (playwright-core): Deno's fetch applies no CORS, so only a browser shows what a cross-origin caller can read.
 *
 * Origin A serves the API (CORS allows origin B only); origins B and C serve a blank page and the client bundle.
 * Needs /usr/bin/chromium (Debian `chromium`; .ci/run installs it); skipped with a message when it is missing.
 */
import assert from "node:assert/strict";
import { chromium, type Page } from "playwright-core";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { createSmolstep, InProcessQueue } from "../../lib/server.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { deleteFileTool, echoTool } from "../support/approval_tools.ts";
import { kvSnapshot } from "../support/kv_snapshot.ts";
import { type ReceivedRequest, startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const haveChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
// On CI (.ci/run installs chromium) a missing browser is a failure, not a skip: the tests must not vanish quietly.
const onCi = Deno.env.get("CI") === "true";
if (!haveChromium && !onCi) {
  console.warn(`SKIPPED browser tests: ${CHROMIUM} is missing (apt-get install -y chromium).`);
}

/** The task text of a chat request ("New task:\n..."). */
const taskOf = (request: ReceivedRequest) =>
  String(request.body.messages?.find((m) => m.role === "user")?.content ?? "");

/**
 * The model: a task "steps:N" calls `echo` N times then answers; a task with "approve" first calls `delete_file`,
 * which needs approval. Keyed on the conversation, so concurrent and background runs cannot take each other's replies.
 */
function scriptByTask(request: ReceivedRequest) {
  const task = taskOf(request);
  const done = (request.body.messages ?? []).filter((m) => /^(Observation|Error):/.test(String(m.content))).length;
  const wanted = Number(/steps:(\d+)/.exec(task)?.[1] ?? 0);
  if (task.includes("approve") && done === 0) return toolCallReply("delete_file", { path: "/data/report" });
  if (done < wanted) return toolCallReply("echo", { text: `step ${done + 1}` });
  return toolCallReply("final_answer", { answer: `done after ${done}` });
}

/** Serves a blank page and the browser bundle of the client. */
function servePages(bundle: string) {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    if (new URL(request.url).pathname === "/client.js") {
      return new Response(bundle, { headers: { "Content-Type": "text/javascript" } });
    }
    return new Response("<!doctype html><title>page</title>", { headers: { "Content-Type": "text/html" } });
  });
}

async function bundleClient(): Promise<string> {
  const out = await Deno.makeTempFile({ suffix: ".js" });
  const client = new URL("../../lib/client.ts", import.meta.url).pathname;
  const bundled = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "browser", "-o", out, client],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(bundled.success, new TextDecoder().decode(bundled.stderr));
  const code = await Deno.readTextFile(out);
  await Deno.remove(out);
  return code;
}

/** Runs `script` in the page, with `createClient` imported from the page's own origin and `api` the API's URL. */
// deno-lint-ignore no-explicit-any
type InPage = (context: { createClient: any; api: string }) => Promise<unknown>;
function inPage<T>(page: Page, api: string, script: InPage): Promise<T> {
  return page.evaluate(async ({ api, source }) => {
    const { createClient } = await import(`${location.origin}/client.js`);
    const run = new Function(`return (${source})`)();
    return await run({ createClient, api });
  }, { api, source: script.toString() }) as Promise<T>;
}

Deno.test({
  name: `typed client in Chromium from another origin${haveChromium ? "" : ` (SKIPPED: ${CHROMIUM} missing)`}`,
  ignore: !haveChromium && !onCi,
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const model = await startScriptedModelServer();
  model.setHandler(scriptByTask);
  const deleted: string[] = [];
  const agent = new ToolCallingAgent({
    name: "ops",
    model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
    tools: [echoTool, deleteFileTool(deleted)],
    maxSteps: 8,
  });

  const kv = await Deno.openKv(":memory:");
  const bundle = await bundleClient();
  const [pagesB, pagesC] = [servePages(bundle), servePages(bundle)];
  const originB = `http://127.0.0.1:${pagesB.addr.port}`;
  const originC = `http://127.0.0.1:${pagesC.addr.port}`;
  const queue = new InProcessQueue();
  const smolstep = createSmolstep({
    agents: { ops: agent },
    store: new DenoKvStore(kv),
    secret: "browser-secret-0123456789",
    queue,
    retryDelayMs: 5,
    cors: { origin: [originB] },
    events: { pollMs: 20, maxDurationMs: 10_000 },
  });
  queue.listen(smolstep.handleQueueMessage);
  /** Every request the API answered: `METHOD path status origin`. */
  const served: string[] = [];
  const apiServer = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const response = await smolstep.app.fetch(request);
    served.push(
      `${request.method} ${new URL(request.url).pathname} ${response.status} ${request.headers.get("Origin")}`,
    );
    return response;
  });
  const api = `http://127.0.0.1:${apiServer.addr.port}`;
  // The same agents behind API keys: the client's Authorization header must pass the preflight.
  const keyed = createSmolstep({
    agents: { ops: agent },
    // A store remembers used stateless tokens (an agent with an approval tool refuses stateless mode without one).
    store: new DenoKvStore(kv),
    secret: "browser-secret-0123456789",
    apiKeys: ["page-key"],
    cors: { origin: [originB] },
  });
  const keyedServer = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, keyed.app.fetch);
  const keyedApi = `http://127.0.0.1:${keyedServer.addr.port}`;

  const userDataDir = await Deno.makeTempDir({ prefix: "smolstep-chromium-" });
  const browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
  });
  browser.setDefaultTimeout(30_000);
  const pageB = await browser.newPage();
  await pageB.goto(`${originB}/`);
  const pageC = await browser.newPage();
  await pageC.goto(`${originC}/`);

  try {
    await t.step("KV run stepped to the end; server errors are readable cross-origin", async () => {
      const result = await inPage<Record<string, unknown>>(pageB, api, async ({ createClient, api }) => {
        const client = createClient({ baseUrl: api });
        const listed = await client.listAgents();
        const run = await client.startRun("ops", { task: "kv steps:2" });
        const done = await client.runToEnd(run.runId);
        const missing = await client.getRun("no-such-run").catch((e: { status: number; code: string }) => e);
        return {
          modes: listed.modes,
          status: done.status,
          answer: done.finalAnswer,
          steps: done.steps.map((s: { type: string }) => s.type),
          missing: [missing.status, missing.code],
        };
      });
      assert.deepEqual(result, {
        modes: { kv: true, stateless: true, background: true },
        status: "succeeded",
        answer: "done after 2",
        steps: ["task", "action", "action", "action", "final_answer"],
        missing: [404, "run_not_found"],
      });
    });

    await t.step("an idempotent replay reports replayed: true (Idempotent-Replayed is exposed)", async () => {
      const result = await inPage<unknown[]>(pageB, api, async ({ createClient, api }) => {
        const client = createClient({ baseUrl: api });
        const run = await client.startRun("ops", { task: "replay steps:3" });
        const first = await client.step(run.runId, { idempotencyKey: "browser-key-1" });
        const again = await client.step(run.runId, { idempotencyKey: "browser-key-1" });
        return [first.replayed, again.replayed, again.stepNumber === first.stepNumber];
      });
      assert.deepEqual(result, [false, true, true]);
      const calls = model.requests.filter((r) => r.method === "POST" && taskOf(r).includes("replay steps:3"));
      assert.equal(calls.length, 1, "the replay called no model");
    });

    await t.step("background run followed over Server-Sent Events", async () => {
      const events = await inPage<string[]>(pageB, api, async ({ createClient, api }) => {
        const client = createClient({ baseUrl: api });
        const run = await client.startRun("ops", { task: "background steps:2", background: true });
        const seen: string[] = [];
        for await (const event of client.events(run.runId)) {
          seen.push(event.type === "step" ? `${event.id}:${event.step.type}` : `${event.type}:${event.status}`);
        }
        return seen;
      });
      assert.deepEqual(events, ["0:task", "1:action", "2:action", "3:action", "4:final_answer", "end:succeeded"]);
    });

    await t.step("stateless run carried by its token", async () => {
      const result = await inPage<unknown[]>(pageB, api, async ({ createClient, api }) => {
        const client = createClient({ baseUrl: api });
        let view = await client.startStatelessRun("ops", { task: "stateless steps:1" });
        let calls = 0;
        for (; view.status === "running"; calls++) view = await client.statelessStep("ops", view.state);
        return [view.status, view.finalAnswer, calls];
      });
      assert.deepEqual(result, ["succeeded", "done after 1", 2]);
    });

    await t.step("approvals: a KV run and a stateless run pause, are approved from the page, and finish", async () => {
      deleted.length = 0;
      const result = await inPage<Record<string, unknown>>(pageB, api, async ({ createClient, api }) => {
        const client = createClient({ baseUrl: api });
        const run = await client.startRun("ops", { task: "kv approve" });
        const paused = await client.step(run.runId);
        const approved = await client.submitInput(run.runId, { approve: true });
        const done = await client.runToEnd(run.runId);

        let view = await client.startStatelessRun("ops", { task: "stateless approve" });
        view = await client.statelessStep("ops", view.state);
        const statelessPaused = view.status;
        view = await client.statelessInput("ops", view.state, { approve: true });
        while (view.status === "running") view = await client.statelessStep("ops", view.state);
        return {
          kv: [paused.status, paused.pendingInput.kind, approved.step.observations, done.status],
          stateless: [statelessPaused, view.status, view.finalAnswer],
        };
      });
      assert.deepEqual(result, {
        kv: ["awaiting_input", "approval", "deleted /data/report", "succeeded"],
        stateless: ["awaiting_input", "succeeded", "done after 1"],
      });
      assert.deepEqual(deleted, ["/data/report", "/data/report"]);
    });

    await t.step("API keys: Authorization passes the preflight; a wrong key is a readable 401", async () => {
      const result = await inPage<unknown[]>(pageB, keyedApi, async ({ createClient, api }) => {
        const good = createClient({ baseUrl: api, apiKey: "page-key" });
        let view = await good.startStatelessRun("ops", { task: "keyed steps:1" });
        while (view.status === "running") view = await good.statelessStep("ops", view.state);
        const bad = createClient({ baseUrl: api, apiKey: "wrong-key" });
        const refused = await bad.listAgents().catch((e: { status: number; code: string }) => e);
        return [view.status, refused.status, refused.code];
      });
      assert.deepEqual(result, ["succeeded", 401, "unauthorized"]);
    });

    await t.step("a page on a refused origin gets CORS failures and changes nothing", async () => {
      const before = await kvSnapshot(kv);
      const modelCalls = model.requests.length;
      served.length = 0;
      const failures = await inPage<string[]>(pageC, api, async ({ createClient, api }) => {
        const client = createClient({ baseUrl: api, retries: 0 });
        const outcomes: string[] = [];
        for (const call of [() => client.listAgents(), () => client.startRun("ops", { task: "steps:1" })]) {
          outcomes.push(await call().then(() => "ok", (e: Error) => `${e.name}: ${e.message}`));
        }
        return outcomes;
      });
      assert.deepEqual(failures, ["TypeError: Failed to fetch", "TypeError: Failed to fetch"]);
      assert.deepEqual(served, [`GET /v1/agents 200 ${originC}`, `OPTIONS /v1/agents/ops/runs 204 ${originC}`]);
      assert.deepEqual(await kvSnapshot(kv), before);
      assert.equal(model.requests.length, modelCalls);
    });

    await t.step("attack: a text/plain POST from a page (no preflight) is refused 415 and creates no run", async () => {
      const before = await kvSnapshot(kv);
      const modelCalls = model.requests.length;
      served.length = 0;
      const attack = async ({ api }: { api: string }) => {
        const body = JSON.stringify({ task: "spend the credits steps:3" });
        const response = await fetch(`${api}/v1/agents/ops/runs`, { method: "POST", body, mode: "no-cors" });
        return response.type;
      };
      assert.equal(await inPage(pageC, api, attack), "opaque");
      const readable = await inPage<unknown[]>(pageB, api, async ({ api }) => {
        const body = JSON.stringify({ task: "spend the credits steps:3" });
        const response = await fetch(`${api}/v1/agents/ops/runs`, { method: "POST", body });
        return [response.status, (await response.json()).error?.code ?? null];
      });
      assert.deepEqual(readable, [415, "unsupported_media_type"]);
      assert.deepEqual(served, [
        `POST /v1/agents/ops/runs 415 ${originC}`,
        `POST /v1/agents/ops/runs 415 ${originB}`,
      ], "both were sent without a preflight, and refused");
      assert.deepEqual(await kvSnapshot(kv), before, "no run was created");
      assert.equal(model.requests.length, modelCalls);
    });
  } finally {
    await browser.close();
    await Deno.remove(userDataDir, { recursive: true });
    queue.close(); // drops the watchdog copies, due after the lock TTL
    await queue.idle();
    await apiServer.shutdown();
    await keyedServer.shutdown();
    await pagesB.shutdown();
    await pagesC.shutdown();
    kv.close();
    await model.close();
  }
});
