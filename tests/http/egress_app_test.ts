import assert from "node:assert/strict";
import { ConfigurationError, type PutOptions, ToolCallingAgent } from "../../lib/mod.ts";
import { type AppOptions, createSmolstep, InProcessQueue, MemoryStore } from "../../lib/server.ts";
import { BackgroundRunner } from "../../lib/runs/background_runner.ts";
import { RunService } from "../../lib/runs/run_service.ts";
import { serverOptions } from "../../functions/server_options.ts";
import { startCallbackReceiver } from "../support/callback_receiver.ts";
import { apiClient } from "../support/http_client.ts";
import { SSRF_ATTACKS } from "../support/ssrf_urls.ts";

/** A MemoryStore that counts writes, to prove a refused request wrote nothing. */
class CountingStore extends MemoryStore {
  puts = 0;
  override put(key: string, value: string, options?: PutOptions) {
    this.puts++;
    return super.put(key, value, options);
  }
}

/** An agent that answers at once: its run ends after one step, and the callback follows. */
function quickAgent(): ToolCallingAgent {
  return new ToolCallingAgent({
    name: "quick",
    model: () => ({
      content: null,
      toolCalls: [{ id: "c", type: "function", function: { name: "final_answer", arguments: { answer: "done" } } }],
    }),
  });
}

function serve(options: Partial<AppOptions> = {}) {
  const store = new CountingStore();
  const queue = new InProcessQueue();
  const smolstep = createSmolstep({
    agents: { quick: quickAgent() },
    store,
    queue,
    secret: "egress-test-secret-0123456789",
    retryDelayMs: 5,
    lockTtlMs: 200, // the watchdog copy of each step message arrives soon after
    ...options,
  });
  queue.listen(smolstep.handleQueueMessage);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  return {
    store,
    queue,
    api: apiClient(`http://127.0.0.1:${server.addr.port}`),
    async close() {
      await queue.idle();
      queue.close();
      await server.shutdown();
    },
  };
}

Deno.test("SSRF: run creation refuses each attack callbackUrl with 400 url_not_allowed and writes nothing", async (t) => {
  const app = serve();
  try {
    for (const [attack, url] of SSRF_ATTACKS) {
      await t.step(`${attack}: ${url}`, async () => {
        const response = await app.api.post("/v1/agents/quick/runs", { task: "x", background: true, callbackUrl: url });
        assert.equal(response.status, 400);
        assert.equal(response.body.error.code, "url_not_allowed", JSON.stringify(response.body));
      });
    }
    assert.equal(app.store.puts, 0, "no run was written");
    assert.equal(app.queue.delivered.length, 0, "nothing was queued");
  } finally {
    await app.close();
  }
});

Deno.test("SSRF: image URLs naming internal hosts are refused with 400 url_not_allowed (KV and stateless)", async () => {
  const app = serve();
  try {
    for (
      const images of [["https://169.254.169.254/latest/meta-data/"], ["data:image/png;base64,AA==", "https://0x7f.1/"]]
    ) {
      for (const stateless of [false, true]) {
        const response = await app.api.post("/v1/agents/quick/runs", { task: "look", images, stateless });
        assert.deepEqual([response.status, response.body.error?.code], [400, "url_not_allowed"], String(images));
      }
    }
    assert.equal(app.store.puts, 0);
    const ok = await app.api.post("/v1/agents/quick/runs", { task: "look", images: ["https://example.com/cat.png"] });
    assert.equal(ok.status, 201, "public https images are fine");
  } finally {
    await app.close();
  }
});

Deno.test("SSRF: a callback to an allowed URL that redirects to loopback is not followed, nor retried", async () => {
  const secret = startCallbackReceiver();
  const targets: Record<string, string> = {
    "/to-ip": `http://127.0.0.1:${secret.port}/`,
    "/to-name": `http://localhost:${secret.port}/`,
    "/to-decimal": `http://2130706433:${secret.port}/`,
    "/to-mapped": `http://[::ffff:127.0.0.1]:${secret.port}/`,
    "/to-metadata": "http://169.254.169.254/latest/meta-data/",
  };
  const redirector = startCallbackReceiver((url) =>
    new Response(null, { status: url.pathname === "/to-ip" ? 307 : 302, headers: { Location: targets[url.pathname] } })
  );
  // The deployer allows the redirector's origin only (http allowed, to prove the hop is refused for its host).
  const app = serve({ egress: { allowHosts: [redirector.url], allowHttp: true } });
  try {
    const runIds: string[] = [];
    for (const path of Object.keys(targets)) {
      const callbackUrl = `${redirector.url}${path}`;
      const created = await app.api.post("/v1/agents/quick/runs", { task: "x", background: true, callbackUrl });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      runIds.push(created.body.runId);
    }
    await app.queue.idle();
    for (const runId of runIds) assert.equal((await app.api.get(`/v1/runs/${runId}`)).body.status, "succeeded");
    assert.deepEqual(secret.hits, [], "the loopback target was never reached");
    assert.deepEqual(redirector.hits.sort(), Object.keys(targets).sort(), "each callback was tried exactly once");
  } finally {
    await app.close();
    await Promise.all([secret.close(), redirector.close()]);
  }
});

Deno.test("SSRF: a stored callbackUrl is checked again at delivery (the policy may have changed)", async () => {
  const receiver = startCallbackReceiver();
  const store = new MemoryStore();
  const runs = new RunService(store);
  const queue = new InProcessQueue();
  const agent = quickAgent();
  const state = agent.start("x");
  // Written while the server allowed loopback; delivered by a runner with the default policy.
  const record = await runs.create("quick", { ...state, status: "succeeded" }, {
    background: true,
    callbackUrl: `${receiver.url}/done`,
  });
  const strict = new BackgroundRunner({ runs, queue, agents: { quick: agent }, retryDelayMs: 1 });
  await strict.handle({ type: "callback", runId: record.runId, attempt: 1 });
  assert.deepEqual(receiver.hits, []);
  assert.equal(queue.delivered.length, 0, "a refused callback is not retried");

  // The same kind of run under a policy that allows loopback is delivered: the policy at delivery decides. (The
  // refused run's callback is settled: a copy of it queued again sends nothing.)
  const local = new BackgroundRunner({ runs, queue, agents: { quick: agent }, egress: { allowPrivateNetwork: true } });
  await local.handle({ type: "callback", runId: record.runId, attempt: 1 });
  assert.deepEqual(receiver.hits, []);
  const allowed = await runs.create("quick", { ...state, status: "succeeded" }, {
    background: true,
    callbackUrl: `${receiver.url}/done`,
  });
  await local.handle({ type: "callback", runId: allowed.runId, attempt: 1 });
  assert.deepEqual(receiver.hits, ["/done"]);
  queue.close();
  await receiver.close();
});

Deno.test("local-development opt-in: background callbacks are delivered to loopback", async () => {
  const receiver = startCallbackReceiver();
  const app = serve({ egress: { allowPrivateNetwork: true } });
  try {
    const callbackUrl = `${receiver.url}/hook`;
    const created = await app.api.post("/v1/agents/quick/runs", { task: "x", background: true, callbackUrl });
    assert.equal(created.status, 201);
    await app.queue.idle();
    assert.deepEqual(receiver.hits, ["/hook"]);
    assert.equal(JSON.parse(receiver.bodies[0]).finalAnswer, "done");
  } finally {
    await app.close();
    await receiver.close();
  }
});

Deno.test("a webhook callbackUrl the egress policy refuses stops the server at startup", () => {
  const webhooks = { quick: { task: "{{task}}", callbackUrl: "http://127.0.0.1:9/done" } };
  const options = {
    agents: { quick: quickAgent() },
    store: new MemoryStore(),
    webhookSecret: "s".repeat(20),
    webhooks,
  };
  assert.throws(() => createSmolstep(options), ConfigurationError);
  assert.ok(createSmolstep({ ...options, egress: { allowPrivateNetwork: true } }));
  assert.ok(createSmolstep({ ...options, egress: { allowHosts: ["http://127.0.0.1:9"] } }));
});

Deno.test("server entries read the egress opt-ins from the environment", () => {
  assert.deepEqual(serverOptions({}, []).egress, { allowPrivateNetwork: false, allowHosts: undefined });
  const env = {
    SMOLSTEP_EGRESS_ALLOW_PRIVATE: "1",
    SMOLSTEP_EGRESS_ALLOW_HOSTS: " api.internal , http://10.0.0.7:8080,",
  };
  assert.deepEqual(serverOptions(env, []).egress, {
    allowPrivateNetwork: true,
    allowHosts: ["api.internal", "http://10.0.0.7:8080"],
  });
  assert.equal(serverOptions({ SMOLSTEP_EGRESS_ALLOW_PRIVATE: "0" }, []).egress.allowPrivateNetwork, false);
});

Deno.test("attack: a callback receiver that never answers does not hold the queue; each attempt times out and is retried", async () => {
  const hits: number[] = [];
  const hold = Promise.withResolvers<void>();
  // Accepts the request and never answers (until the test ends).
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    hits.push(Date.now());
    await hold.promise;
    return new Response(null, { status: 204 });
  });
  const app = serve({ egress: { allowPrivateNetwork: true }, callbackTimeoutMs: 100, maxAttempts: 3 });
  try {
    const callbackUrl = `http://127.0.0.1:${receiver.addr.port}/slow`;
    const created = await app.api.post("/v1/agents/quick/runs", { task: "x", background: true, callbackUrl });
    assert.equal(created.status, 201);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stuck = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("the queue is still busy with the callback after 10 s")), 10_000);
    });
    await Promise.race([app.queue.idle(), stuck]).finally(() => clearTimeout(timer));
    assert.equal(hits.length, 3, "three attempts, each abandoned at its time limit");
  } finally {
    hold.resolve();
    await app.close();
    await receiver.shutdown();
  }
});
