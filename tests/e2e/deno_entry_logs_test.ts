import assert from "node:assert/strict";
import { join } from "node:path";
import { startDenoEntry } from "../support/deno_entry.ts";
import { apiClient } from "../support/http_client.ts";
import { kvFullRun, statelessFullRun } from "../support/run_scenarios.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { postHook, standardHeaders, whsecSecret } from "../support/webhook_senders.ts";

// Every secret carries LEAK: one search of the process's whole output finds any of them.
const API_KEY = "sk-entry-api-key-LEAK-0123";
const MODEL_KEY = "sk-entry-model-key-LEAK-0123";
const SECRET = "entry-state-secret-LEAK-0123456789";
const WEBHOOK_SECRET = whsecSecret("entry-webhook-LEAK");

Deno.test("Deno entry: one JSON line per request at SMOLSTEP_LOG_LEVEL, no secret in its output", async (t) => {
  const model = await startScriptedModelServer();
  const dir = await Deno.makeTempDir({ prefix: "smolstep-logs-" });
  const env = {
    OPENAI_BASE_URL: model.url,
    OPENAI_API_KEY: MODEL_KEY,
    SMOLSTEP_MODEL: "scripted-model",
    SMOLSTEP_SECRET: SECRET,
    SMOLSTEP_API_KEYS: API_KEY,
    SMOLSTEP_WEBHOOK_SECRET: WEBHOOK_SECRET,
    SMOLSTEP_KV_PATH: join(dir, "kv.sqlite3"),
  };
  try {
    await t.step("default level (info): request lines, and nothing else on stdout", async () => {
      const server = await startDenoEntry(env);
      let output: string;
      const tokens: string[] = [];
      try {
        const api = apiClient(server.url, { apiKey: API_KEY });
        const runId = await kvFullRun(api, model);
        const { firstToken, finalToken } = await statelessFullRun(api, model);
        tokens.push(firstToken, finalToken);
        const wrong = await apiClient(server.url, { apiKey: "wrong-LEAK" }).get(`/v1/runs/${runId}?token=q-LEAK`);
        assert.equal(wrong.status, 401);
        const body = JSON.stringify({ task: "LEAK in a task" });
        model.enqueue(toolCallReply("final_answer", { answer: "hooked" }));
        const hook = await postHook(`${server.url}/v1/hooks/assistant`, body, standardHeaders(WEBHOOK_SECRET, body));
        assert.equal(hook.status, 202);
        // The webhook's background run takes its reply before the next request is scripted.
        for (let i = 0; i < 200 && model.pending > 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
        assert.equal(model.pending, 0);
        model.enqueue({ status: 401, error: `Incorrect API key provided: ${MODEL_KEY}` });
        const failing = await api.post("/v1/agents/assistant/runs", { task: "x" });
        assert.ok((await api.post(`/v1/runs/${failing.body.runId}/steps`)).status >= 400);
      } finally {
        output = (await server.stop()).output;
      }
      assert.ok(!output.includes("LEAK"), output.split("\n").filter((line) => line.includes("LEAK")).join("\n"));
      for (const token of tokens) assert.ok(!output.includes(token.slice(4, 40)), "a state token in the output");
      const records = output.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
      const requests = records.filter((record) => record.msg === "request");
      assert.ok(requests.length >= 14, `${requests.length} request lines`);
      assert.ok(requests.some((r) => r.route === "/v1/runs/:runId/steps" && r.status === 200 && r.runId));
      assert.ok(requests.some((r) => r.route === "/v1/hooks/:name" && r.status === 202));
      assert.ok(requests.some((r) => r.route === "/v1/runs/:runId" && r.status === 401));
      // Quiet otherwise: every other line is Deno.serve's own "Listening on" notice.
      const others = output.split("\n").filter((line) => line.trim() && !line.startsWith("{"));
      assert.deepEqual(others.filter((line) => !line.startsWith("Listening on ")), []);
    });

    await t.step("SMOLSTEP_LOG_LEVEL=warn: no request lines for requests that succeed", async () => {
      model.reset();
      const server = await startDenoEntry({ ...env, SMOLSTEP_LOG_LEVEL: "warn" });
      let output: string;
      try {
        await kvFullRun(apiClient(server.url, { apiKey: API_KEY }), model);
      } finally {
        output = (await server.stop()).output;
      }
      assert.deepEqual(output.split("\n").filter((line) => line.startsWith("{")), []);
    });
  } finally {
    await model.close();
    await Deno.remove(dir, { recursive: true });
  }
});
