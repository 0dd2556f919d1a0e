import assert from "node:assert/strict";
import { createAgents, exampleModelTimeLimits } from "../../functions/agents.ts";
import { serverOptions, webSearchFromEnv } from "../../functions/server_options.ts";
import { ConfigurationError, type WebSearchTool } from "../../lib/mod.ts";
import { createApp, MemoryStore } from "../../lib/server.ts";
import { worstCaseMs } from "../../lib/models/model_time_limits.ts";
import { apiClient } from "../support/http_client.ts";
import { startHungModelServer } from "../support/hung_model_server.ts";

/** The example entries' environment for admission, deadlines and model time limits. */

Deno.test("server env: SMOLSTEP_MAX_STEPS_IN_FLIGHT and SMOLSTEP_STEP_TIMEOUT_MS", () => {
  const unset = serverOptions({}, []);
  assert.equal(unset.maxStepsInFlight, undefined);
  assert.equal(unset.stepTimeoutMs, undefined);
  const set = serverOptions({ SMOLSTEP_MAX_STEPS_IN_FLIGHT: " 8 ", SMOLSTEP_STEP_TIMEOUT_MS: "20000" }, []);
  assert.deepEqual([set.maxStepsInFlight, set.stepTimeoutMs], [8, 20_000]);
  for (const bad of ["0", "-3", "1.5", "lots"]) {
    assert.throws(() => serverOptions({ SMOLSTEP_MAX_STEPS_IN_FLIGHT: bad }, []), ConfigurationError, bad);
    assert.throws(() => serverOptions({ SMOLSTEP_STEP_TIMEOUT_MS: bad }, []), ConfigurationError, bad);
  }
  // A step time that would outlive the lock is refused when the app is built.
  const options = serverOptions({ SMOLSTEP_LOCK_TTL_MS: "10000", SMOLSTEP_STEP_TIMEOUT_MS: "10000" }, []);
  assert.throws(() => createApp({ agents: {}, store: new MemoryStore(), ...options }), RangeError);
});

Deno.test("server env: the lock, retry delay and CORS max age stop the start when malformed, like the rest", () => {
  const set = serverOptions({
    SMOLSTEP_LOCK_TTL_MS: " 60000 ",
    SMOLSTEP_RETRY_DELAY_MS: "0",
    SMOLSTEP_CORS_ORIGINS: "*",
    SMOLSTEP_CORS_MAX_AGE: "0",
  }, []);
  assert.deepEqual([set.lockTtlMs, set.retryDelayMs, set.cors?.maxAge], [60_000, 0, 0]);
  // A typo used to fall back to the default silently (a 5-minute lock for "60000ms").
  for (const bad of ["60000ms", "1.5", "-1", "soon"]) {
    assert.throws(() => serverOptions({ SMOLSTEP_LOCK_TTL_MS: bad }, []), ConfigurationError, bad);
    assert.throws(() => exampleModelTimeLimits({ SMOLSTEP_LOCK_TTL_MS: bad }), ConfigurationError, bad);
    assert.throws(() => serverOptions({ SMOLSTEP_RETRY_DELAY_MS: bad }, []), ConfigurationError, bad);
    const cors = { SMOLSTEP_CORS_ORIGINS: "*", SMOLSTEP_CORS_MAX_AGE: bad };
    assert.throws(() => serverOptions(cors, []), ConfigurationError, bad);
  }
  assert.throws(() => serverOptions({ SMOLSTEP_LOCK_TTL_MS: "0" }, []), ConfigurationError);
});

Deno.test("server env: numbers given as JSON values (wrangler.toml [vars] without quotes) are read as numbers", () => {
  // Wrangler binds a [vars] value that is not a string as JSON, so the Worker's env holds a number, not a string.
  const env = {
    SMOLSTEP_LOCK_TTL_MS: 60_000,
    SMOLSTEP_STEP_TIMEOUT_MS: 50_000,
    SMOLSTEP_MAX_STEPS_IN_FLIGHT: 40,
    SMOLSTEP_RUN_TTL_SECONDS: 3_600,
    SMOLSTEP_MODEL_TIMEOUT_MS: 10_000,
    SMOLSTEP_MODEL_MAX_RETRIES: 1,
  } as unknown as Record<string, string>;
  const options = serverOptions(env, []);
  assert.deepEqual(
    [options.lockTtlMs, options.stepTimeoutMs, options.maxStepsInFlight, options.runTtlSeconds],
    [60_000, 50_000, 40, 3_600],
  );
  const limits = exampleModelTimeLimits(env);
  assert.deepEqual([limits.timeoutMs, limits.maxRetries], [10_000, 1]);
  assert.ok(worstCaseMs(limits) <= 50_000);
  assert.throws(() => serverOptions({ SMOLSTEP_MAX_STEPS_IN_FLIGHT: 2.5 } as unknown as Record<string, string>, []), {
    name: "ConfigurationError",
  });
});

Deno.test("model env: time limits sized to the lock unless set, worst case inside the step deadline", () => {
  const defaults = exampleModelTimeLimits({});
  assert.deepEqual(defaults, { timeoutMs: 60_000, maxRetries: 2, retry: { baseDelayMs: 1_000, maxDelayMs: 27_000 } });
  assert.ok(worstCaseMs(defaults) <= 270_000, "the default worst case fits the default 270 s step");

  const shortLock = exampleModelTimeLimits({ SMOLSTEP_LOCK_TTL_MS: "60000" });
  assert.ok(shortLock.timeoutMs < 60_000);
  assert.ok(worstCaseMs(shortLock) <= 54_000, JSON.stringify(shortLock));
  const shortStep = exampleModelTimeLimits({ SMOLSTEP_STEP_TIMEOUT_MS: "9000" });
  assert.ok(worstCaseMs(shortStep) <= 9_000, JSON.stringify(shortStep));

  const chosen = exampleModelTimeLimits({
    SMOLSTEP_MODEL_TIMEOUT_MS: "15000",
    SMOLSTEP_MODEL_MAX_RETRIES: "0",
    SMOLSTEP_MODEL_RETRY_DELAY_MS: "250",
  });
  assert.deepEqual([chosen.timeoutMs, chosen.maxRetries, chosen.retry.baseDelayMs], [15_000, 0, 250]);
  assert.throws(() => exampleModelTimeLimits({ SMOLSTEP_MODEL_MAX_RETRIES: "-1" }), ConfigurationError);
  assert.throws(() => exampleModelTimeLimits({ SMOLSTEP_MODEL_TIMEOUT_MS: "soon" }), ConfigurationError);
});

Deno.test("model env over loopback: a hung model ends the step with the model's timeout, run unchanged", async (t) => {
  const model = startHungModelServer();
  const serve = (env: Record<string, string>) => {
    const full: Record<string, string> = { OPENAI_BASE_URL: model.url, OPENAI_API_KEY: "k", ...env };
    const agents = createAgents(full);
    const store = new MemoryStore();
    const app = createApp({ agents, store, ...serverOptions(full, Object.keys(agents)) });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
    const bytes = async (runId: string) => (await store.get(`runs/${runId}`))?.value;
    return { api: apiClient(`http://127.0.0.1:${server.addr.port}`), bytes, close: () => server.shutdown() };
  };

  await t.step("SMOLSTEP_MODEL_*: two attempts of 200 ms, then 502 model_error; the run steps again", async () => {
    // A one-minute lock: a record found without it means the step gave it back.
    const app = serve({
      SMOLSTEP_LOCK_TTL_MS: "60000",
      SMOLSTEP_MODEL_TIMEOUT_MS: "200",
      SMOLSTEP_MODEL_MAX_RETRIES: "1",
      SMOLSTEP_MODEL_RETRY_DELAY_MS: "10",
    });
    try {
      const { body: run } = await app.api.post("/v1/agents/assistant/runs", { task: "hang" });
      const before = await app.bytes(run.runId);
      const [received, abandoned] = [model.received, model.abandoned];
      const failed = await app.api.post(`/v1/runs/${run.runId}/steps`);
      assert.deepEqual([failed.status, failed.body.error.code], [502, "model_error"], JSON.stringify(failed.body));
      assert.match(failed.body.error.message, /timed out/i);
      assert.equal(model.received - received, 2, "the first attempt and one retry");
      assert.equal(await app.bytes(run.runId), before);
      for (let i = 0; i < 100 && model.abandoned - abandoned < 2; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(model.abandoned - abandoned, 2, "both attempts were given up");
      model.answerWith({ answer: "done" });
      const again = await app.api.post(`/v1/runs/${run.runId}/steps`);
      model.answerWith(undefined);
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(again.body.finalAnswer, "done");
    } finally {
      await app.close();
    }
  });

  await t.step("only a short lock set: derived limits or the deadline end the step, never the lock", async () => {
    const app = serve({ SMOLSTEP_LOCK_TTL_MS: "1500" });
    try {
      const { body: run } = await app.api.post("/v1/agents/assistant/runs", { task: "hang" });
      const before = await app.bytes(run.runId);
      const received = model.received;
      const failed = await app.api.post(`/v1/runs/${run.runId}/steps`);
      // Attempts of 360 ms and waits of at most 135 ms fill the 1,350 ms step: whichever ends first is fine.
      assert.ok(
        [[502, "model_error"], [504, "step_timeout"]].some(([status, code]) =>
          failed.status === status && failed.body.error.code === code
        ),
        JSON.stringify(failed.body),
      );
      assert.ok(model.received - received <= 3);
      // Released by the step, not expired: an expired lock would still be in the record.
      assert.equal(await app.bytes(run.runId), before);
    } finally {
      await app.close();
    }
  });

  await model.close();
});

Deno.test("the researcher's web search from the environment (SMOLSTEP_SEARCH_*)", async (t) => {
  await t.step("DuckDuckGo by default, no key", () => {
    assert.deepEqual(webSearchFromEnv({}), { provider: "duckduckgo", baseUrl: undefined });
  });
  await t.step("a keyed provider takes SMOLSTEP_SEARCH_API_KEY, else its own variable; base URL honoured", () => {
    assert.deepEqual(
      webSearchFromEnv({
        SMOLSTEP_SEARCH_PROVIDER: "Brave",
        BRAVE_API_KEY: "b",
        SMOLSTEP_SEARCH_BASE_URL: "https://x",
      }),
      { provider: "brave", apiKey: "b", baseUrl: "https://x" },
    );
    assert.equal(
      webSearchFromEnv({ SMOLSTEP_SEARCH_PROVIDER: "tavily", SMOLSTEP_SEARCH_API_KEY: "s", TAVILY_API_KEY: "t" })
        .apiKey,
      "s",
    );
    assert.equal(webSearchFromEnv({ SMOLSTEP_SEARCH_PROVIDER: "serper", SERPER_API_KEY: "k" }).apiKey, "k");
  });
  await t.step("an unknown provider or a missing key stops the start, naming the variable", () => {
    assert.throws(() => webSearchFromEnv({ SMOLSTEP_SEARCH_PROVIDER: "bing" }), /SMOLSTEP_SEARCH_PROVIDER must be/);
    assert.throws(
      () => webSearchFromEnv({ SMOLSTEP_SEARCH_PROVIDER: "serper" }),
      (error: Error) => error instanceof ConfigurationError && /SERPER_API_KEY/.test(error.message),
    );
  });
  await t.step("the researcher uses it", () => {
    const { researcher } = createAgents({ SMOLSTEP_SEARCH_PROVIDER: "brave", BRAVE_API_KEY: "b" });
    assert.equal((researcher.tools.get("web_search") as WebSearchTool).provider.name, "brave");
    assert.ok(researcher.tools.get("visit_webpage"));
  });
});

Deno.test("server env: SMOLSTEP_FOLLOW_MAX_READS, the entry's default, 0 for no limit", () => {
  assert.equal(serverOptions({}, []).events.maxReads, undefined);
  assert.equal(serverOptions({}, [], { followMaxReads: 40 }).events.maxReads, 40);
  assert.equal(serverOptions({ SMOLSTEP_FOLLOW_MAX_READS: " 900 " }, [], { followMaxReads: 40 }).events.maxReads, 900);
  assert.equal(
    serverOptions({ SMOLSTEP_FOLLOW_MAX_READS: "0" }, [], { followMaxReads: 40 }).events.maxReads,
    undefined,
  );
  for (const bad of ["-1", "1.5", "forty"]) {
    assert.throws(() => serverOptions({ SMOLSTEP_FOLLOW_MAX_READS: bad }, []), ConfigurationError, bad);
  }
});

Deno.test("server env: a SMOLSTEP_SECRET under 16 characters stops the start, not every stateless run", async () => {
  // It used to be accepted: `/v1/agents` said stateless mode was on and every stateless run answered 500.
  const agents = createAgents({});
  for (const short of ["short", "fifteen-chars!!"]) {
    const options = serverOptions({ SMOLSTEP_SECRET: short }, Object.keys(agents));
    assert.throws(() => createApp({ agents, ...options }), {
      name: "ConfigurationError",
      message: /at least 16 characters/,
    });
  }
  // Exactly 16 serves stateless runs over loopback; an empty secret is no secret (stateless mode off).
  const app = createApp({
    agents,
    ...serverOptions({ SMOLSTEP_SECRET: "sixteen-chars!!!", SMOLSTEP_LOG_LEVEL: "off" }, []),
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  try {
    const api = apiClient(`http://127.0.0.1:${server.addr.port}`);
    const created = await api.post("/v1/agents/assistant/runs", { task: "hi", stateless: true });
    assert.equal(created.status, 201);
    assert.match(String((created.body as { state?: string }).state), /^st2\./);
  } finally {
    await server.shutdown();
  }
  const off = createApp({ agents, ...serverOptions({ SMOLSTEP_SECRET: "", SMOLSTEP_LOG_LEVEL: "off" }, []) });
  const refused = await off.request("/v1/agents/assistant/runs", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ task: "hi", stateless: true }),
  });
  assert.equal(refused.status, 501);
  assert.equal((await refused.json()).error.code, "stateless_not_configured");
});
