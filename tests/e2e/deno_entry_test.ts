import assert from "node:assert/strict";
import { join } from "node:path";
import { startDenoEntry } from "../support/deno_entry.ts";
import { apiClient } from "../support/http_client.ts";
import { chatCompletionRuns } from "../support/chat_completion_runs.ts";
import {
  kvFullRun,
  researcherRun,
  scriptCalculation,
  scriptCodeRun,
  statelessCodeRun,
  statelessFullRun,
  streamedRuns,
} from "../support/run_scenarios.ts";
import { startScriptedModelServer } from "../support/scripted_model_server.ts";
import { startWebFixtureServer } from "../support/web_fixture_server.ts";

Deno.test("Deno entry (functions/deno.ts) end to end", async (t) => {
  const model = await startScriptedModelServer();
  const site = await startWebFixtureServer();
  const dir = await Deno.makeTempDir({ prefix: "smolstep-e2e-" });
  const env = {
    // The researcher's search and pages come from the loopback fixture server, allowed by origin only.
    SMOLSTEP_SEARCH_BASE_URL: site.origin,
    SMOLSTEP_EGRESS_ALLOW_HOSTS: site.origin,
    OPENAI_BASE_URL: model.url,
    OPENAI_API_KEY: "test-key",
    SMOLSTEP_MODEL: "scripted-model",
    SMOLSTEP_SECRET: "e2e-secret-0123456789abcdef",
    SMOLSTEP_KV_PATH: join(dir, "kv.sqlite3"),
  };
  let server = await startDenoEntry(env);
  try {
    await t.step("KV mode: a full run, one step per request, stored in Deno KV", async () => {
      await kvFullRun(apiClient(server.url), model);
      assert.equal(model.lastRequest?.body.model, "scripted-model");
    });

    await t.step("the researcher: web search and a page, through the egress guard, in KV mode", async () => {
      const api = apiClient(server.url);
      assert.equal((await api.get("/health")).body.agents, 3);
      const listing = await api.get("/v1/agents");
      assert.deepEqual(listing.body.agents.map((a: { name: string }) => a.name), ["assistant", "researcher", "coder"]);
      await researcherRun(api, model, site.origin);
    });

    await t.step("stateless mode: a full run with the signed state carried by the client", async () => {
      await statelessFullRun(apiClient(server.url), model);
    });

    await t.step("streamed steps (Accept: text/event-stream): deltas, then the step", async () => {
      await streamedRuns(server.url, model);
    });

    await t.step(
      "the OpenAI-compatible endpoint through the openai client (background runs on the KV queue)",
      async () => {
        await chatCompletionRuns(server.url, model);
      },
    );

    await t.step("CodeAgent: three stateless steps, variables carried in the signed token", async () => {
      await statelessCodeRun(apiClient(server.url), model);
    });

    await t.step("CodeAgent in KV mode: variables kept in Deno KV between steps", async () => {
      scriptCodeRun(model);
      const api = apiClient(server.url);
      const { body: run } = await api.post("/v1/agents/coder/runs", { task: "Use the tools." });
      for (let i = 0; i < 2; i++) assert.equal((await api.post(`/v1/runs/${run.runId}/steps`)).body.status, "running");
      const last = await api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(last.body.finalAnswer, "smol agents on the edge says 42");
    });

    await t.step("a run survives a killed process: the next process continues it", async () => {
      scriptCalculation(model);
      const api = apiClient(server.url);
      const { body: run } = await api.post("/v1/agents/assistant/runs", { task: "What is 6 times 7?" });
      assert.equal((await api.post(`/v1/runs/${run.runId}/steps`)).body.status, "running");
      const stateless = await api.post("/v1/agents/assistant/runs", { task: "later", stateless: true });
      await server.kill();

      server = await startDenoEntry(env);
      const next = apiClient(server.url);
      const done = await next.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(done.status, 200, JSON.stringify(done.body));
      assert.equal(done.body.status, "succeeded");
      assert.equal(done.body.finalAnswer, "6 times 7 is 42");
      assert.equal((await next.get(`/v1/runs/${run.runId}`)).body.steps.length, 4);
      // A token sealed by the previous process is accepted by the new one (same secret).
      model.enqueue({ toolCalls: [{ name: "final_answer", arguments: { answer: "fine" } }] });
      const resumed = await next.post("/v1/agents/assistant/steps", { state: stateless.body.state });
      assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
      assert.equal(resumed.body.finalAnswer, "fine");
    });

    await t.step(
      "SSRF: without the egress opt-in, loopback and metadata callbackUrls are 400 url_not_allowed",
      async () => {
        const api = apiClient(server.url);
        for (const callbackUrl of ["http://127.0.0.1:9/done", "https://2130706433/", "https://169.254.169.254/"]) {
          const refused = await api.post("/v1/agents/assistant/runs", { task: "x", background: true, callbackUrl });
          assert.deepEqual([refused.status, refused.body.error?.code], [400, "url_not_allowed"], callbackUrl);
        }
      },
    );
  } finally {
    await server.kill();
    await model.close();
    await site.close();
    await Deno.remove(dir, { recursive: true });
  }
});
