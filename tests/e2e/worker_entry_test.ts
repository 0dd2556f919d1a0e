import assert from "node:assert/strict";
import { PROMETHEUS_CONTENT_TYPE } from "../../lib/metrics/prometheus_text.ts";
import { apiClient } from "../support/http_client.ts";
import { chatCompletionRuns } from "../support/chat_completion_runs.ts";
import { histogramSeries, parsePrometheusText, sampleValue } from "../support/prometheus_text_parser.ts";
import {
  firstStepRun,
  kvFullRun,
  researcherRun,
  statelessCodeRun,
  statelessFullRun,
  streamedRuns,
} from "../support/run_scenarios.ts";
import { startScriptedModelServer } from "../support/scripted_model_server.ts";
import { startWebFixtureServer } from "../support/web_fixture_server.ts";
import { startWranglerDev } from "../support/wrangler_dev.ts";

Deno.test("Workers entry (functions/worker.ts) under wrangler dev, end to end", async (t) => {
  const model = await startScriptedModelServer();
  const site = await startWebFixtureServer();
  const worker = await startWranglerDev({
    config: "wrangler.toml",
    readyPath: "/health",
    vars: {
      SMOLSTEP_SEARCH_BASE_URL: site.origin,
      SMOLSTEP_EGRESS_ALLOW_HOSTS: site.origin,
      OPENAI_BASE_URL: model.url,
      OPENAI_API_KEY: "test-key",
      SMOLSTEP_MODEL: "scripted-model",
      SMOLSTEP_SECRET: "worker-secret-0123456789abcdef",
      SMOLSTEP_API_KEYS: "worker-key",
    },
  });
  const api = apiClient(worker.url, { apiKey: "worker-key" });
  try {
    await t.step("health, agent listing and auth", async () => {
      assert.equal((await apiClient(worker.url).get("/health")).status, 200);
      assert.equal((await apiClient(worker.url).get("/v1/agents")).status, 401);
      // The playground is off on Workers unless SMOLSTEP_PLAYGROUND=1.
      assert.equal((await apiClient(worker.url).get("/")).status, 404);
      const listing = await api.get("/v1/agents");
      assert.equal(listing.status, 200);
      assert.deepEqual(listing.body.agents.map((a: { name: string }) => a.name), ["assistant", "researcher", "coder"]);
    });

    await t.step("the researcher in workerd: web search and a page through the egress guard", async () => {
      await researcherRun(api, model, site.origin);
    });

    await t.step("KV mode: a full run in workerd with Workers KV, and one created with its first step", async () => {
      await kvFullRun(api, model);
      await firstStepRun(api, model, false);
      assert.equal(model.lastRequest?.body.model, "scripted-model");
    });

    await t.step("stateless mode: a full run in workerd, and one started by its first step", async () => {
      await statelessFullRun(api, model);
      await firstStepRun(api, model, true);
    });

    await t.step(
      "CodeAgent: three stateless steps in workerd's QuickJS sandbox, variables carried in the token",
      async () => {
        await statelessCodeRun(api, model);
      },
    );

    await t.step("streamed steps (Accept: text/event-stream) in workerd: deltas, then the step", async () => {
      await streamedRuns(worker.url, model, "worker-key");
    });

    await t.step("the OpenAI-compatible endpoint in workerd, through the openai client (background runs)", async () => {
      await chatCompletionRuns(worker.url, model, "worker-key");
    });

    await t.step("errors are JSON 4xx in workerd too", async () => {
      const bad = await api.post("/v1/agents/assistant/runs", "{oops");
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, "invalid_json");
      const tampered = await api.post("/v1/agents/assistant/steps", { state: "st1.AAAA.BBBB" });
      assert.equal(tampered.status, 400);
      assert.equal(tampered.body.error.code, "invalid_token");
    });

    await t.step("/metrics in workerd: behind the API key, parseable, the steps above counted", async () => {
      const refused = await fetch(`${worker.url}/metrics`);
      await refused.body?.cancel();
      assert.equal(refused.status, 401);
      const response = await fetch(`${worker.url}/metrics`, { headers: { Authorization: "Bearer worker-key" } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("Content-Type"), PROMETHEUS_CONTENT_TYPE);
      const families = parsePrometheusText(await response.text());
      const calls = sampleValue(families, "smolstep_model_calls_total", { model: "scripted-model" }) ?? 0;
      assert.ok(calls >= 3, `model calls: ${calls}`);
      const steps = histogramSeries(families.get("smolstep_step_duration_seconds")!);
      assert.ok(steps.some((s) => s.labels.mode === "kv" && s.labels.outcome === "ok" && s.count > 0));
      const gets = sampleValue(families, "smolstep_store_operation_duration_seconds_count", { operation: "get" });
      assert.ok(gets !== undefined && gets > 0);
      const health = await apiClient(worker.url).get("/health");
      assert.equal(health.body.stepsInFlight, 0);
    });
  } catch (error) {
    console.error(worker.logs());
    throw error;
  } finally {
    await worker.close();
    await model.close();
    await site.close();
  }
});
