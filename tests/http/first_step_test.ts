import assert from "node:assert/strict";
import { z } from "zod";
import { createClient, SmolstepClientError, type StreamStepEvent } from "../../lib/client.ts";
import { calculatorTool, OpenAIServerModel, tool, ToolCallingAgent } from "../../lib/mod.ts";
import { type AppOptions, createApp } from "../../lib/server.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { apiClient } from "../support/http_client.ts";
import { parsePrometheusText, sampleValue } from "../support/prometheus_text_parser.ts";
import { type ScriptedModelServer, startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { until } from "../support/until.ts";

/**
 * `POST /v1/agents/{name}/runs` with `firstStep: true`: a run created with its first step taken, in one request, in
 * KV mode (written once, already stepped) and in stateless mode (no token to claim), over loopback on real Deno KV.
 */

const SECRET = "first-step-secret-0123456789";

function agents(model: ScriptedModelServer) {
  const openai = new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 });
  const pay = tool({
    name: "pay",
    description: "Pays someone.",
    inputs: z.object({ to: z.string() }),
    needsApproval: true,
    run: ({ to }) => `paid ${to}`,
  });
  // Ignores aborts: its step ends normally after its caller has gone.
  const stubborn = tool({
    name: "stubborn",
    description: "Takes its time.",
    inputs: z.object({}),
    run: () => new Promise((resolve) => setTimeout(() => resolve("done"), 300)),
  });
  return {
    calc: new ToolCallingAgent({ name: "calc", model: openai, tools: [calculatorTool, stubborn] }),
    bank: new ToolCallingAgent({ name: "bank", model: openai, tools: [pay] }),
  };
}

function serve(options: AppOptions) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, createApp(options).fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  return { url, api: apiClient(url), close: () => server.shutdown() };
}

/** Every key the store holds, as the store names it (without the Deno KV prefix of its values). */
async function keys(kv: Deno.Kv): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of kv.list({ prefix: [] })) found.push(entry.key.map(String).join("/"));
  return found.map((key) => key.replace(/^smolstep\/v\//, ""));
}

/** The value of one sample of /metrics (0 when absent). */
async function metric(url: string, name: string, labels: Record<string, string>): Promise<number> {
  const families = parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
  return sampleValue(families, name, labels) ?? 0;
}

Deno.test("firstStep: a KV run created with its first step taken (real Deno KV)", async (t) => {
  const model = await startScriptedModelServer();
  const kv = await Deno.openKv(":memory:");
  const { url, api, close } = serve({ agents: agents(model), store: new DenoKvStore(kv), secret: SECRET });
  try {
    await t.step(
      "201 with the step, Location and runId; the run is stored stepped, unlocked, and goes on",
      async () => {
        const before = await keys(kv);
        model.enqueue(toolCallReply("calculator", { expression: "6 * 7" }));
        const first = await api.post("/v1/agents/calc/runs", { task: "What is 6 * 7?", maxSteps: 5, firstStep: true });
        assert.equal(first.status, 201, JSON.stringify(first.body));
        const runId = first.body.runId as string;
        assert.equal(first.headers.get("Location"), `/v1/runs/${runId}`);
        assert.deepEqual([first.body.status, first.body.stepNumber, first.body.maxSteps], ["running", 1, 5]);
        assert.equal(first.body.step.observations, "42");
        assert.equal(model.requests.length, 1);
        assert.match(JSON.stringify(model.requests[0].body.messages), /What is 6 \* 7\?/);
        const added = (await keys(kv)).filter((key) => !before.includes(key));
        assert.deepEqual(added, [`runs/${runId}`], "one record, nothing else");
        const record = JSON.parse((await new DenoKvStore(kv).get(`runs/${runId}`))!.value);
        assert.deepEqual([record.lock, record.seq], [null, 1]);

        const read = await api.get(`/v1/runs/${runId}`);
        assert.deepEqual([read.body.status, read.body.stepNumber, read.body.task], ["running", 1, "What is 6 * 7?"]);
        model.enqueue(toolCallReply("final_answer", { answer: "42" }));
        const last = await api.post(`/v1/runs/${runId}/steps`);
        assert.equal(last.status, 200, JSON.stringify(last.body));
        assert.deepEqual([last.body.status, last.body.finalAnswer, last.body.stepNumber], ["succeeded", "42", 2]);
      },
    );

    await t.step("a first step that pauses for approval is answered on the run's /input", async () => {
      model.reset();
      model.enqueue(toolCallReply("pay", { to: "bob" }));
      const paused = await api.post("/v1/agents/bank/runs", { task: "pay bob", firstStep: true });
      assert.equal(paused.status, 201, JSON.stringify(paused.body));
      assert.equal(paused.body.status, "awaiting_input");
      model.enqueue(toolCallReply("final_answer", { answer: "paid" }));
      const approved = await api.post(`/v1/runs/${paused.body.runId}/input`, { approve: true });
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(approved.body.step.observations, "paid bob");
    });

    await t.step("a first step that fails writes nothing: no run, the model's error", async () => {
      model.reset();
      const before = await keys(kv);
      model.enqueue({ status: 500 });
      const failed = await api.post("/v1/agents/calc/runs", { task: "fail", firstStep: true });
      assert.deepEqual([failed.status, failed.body.error.code], [502, "model_error"]);
      assert.equal(model.requests.length, 1);
      assert.deepEqual(await keys(kv), before);
    });

    await t.step("a client that leaves during the first step leaves no run behind", async () => {
      model.reset();
      const before = await keys(kv);
      /** Sends a first step, leaves once the model was asked, and waits out the step. */
      const leave = async (task: string) => {
        const asked = model.requests.length + 1;
        const gone = new AbortController();
        const request = fetch(`${url}/v1/agents/calc/runs`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ task, firstStep: true }),
          signal: gone.signal,
        }).catch((error) => error);
        await until(() => model.requests.length === asked);
        gone.abort();
        assert.equal((await request).name, "AbortError");
        await new Promise((resolve) => setTimeout(resolve, 500));
      };
      // The model still answers after the client left; the step ends without a write.
      model.enqueue({ ...toolCallReply("calculator", { expression: "1 + 1" }), delayMs: 300 });
      await leave("slow");
      assert.deepEqual(await keys(kv), before);
      // A step that ends normally after its caller has gone (its tool ignores the abort) is not kept either.
      model.enqueue(toolCallReply("stubborn"));
      await leave("stubborn");
      assert.deepEqual(await keys(kv), before);
    });

    await t.step("firstStep with background is a 400; an unknown agent a 404; nothing runs", async () => {
      model.reset();
      const refused = await api.post("/v1/agents/calc/runs", { task: "t", firstStep: true, background: true });
      assert.deepEqual([refused.status, refused.body.error.code], [400, "invalid_request"]);
      const unknown = await api.post("/v1/agents/nobody/runs", { task: "t", firstStep: true });
      assert.deepEqual([unknown.status, unknown.body.error.code], [404, "agent_not_found"]);
      assert.equal(model.requests.length, 0);
    });

    await t.step("attack: an image URL the egress guard refuses is a 400 before the model is asked", async () => {
      model.reset();
      for (const stateless of [false, true]) {
        const refused = await api.post("/v1/agents/calc/runs", {
          task: "describe",
          images: ["https://127.0.0.1/secret.png"],
          firstStep: true,
          stateless,
        });
        assert.deepEqual([refused.status, refused.body.error.code], [400, "url_not_allowed"]);
      }
      assert.equal(model.requests.length, 0);
    });

    await t.step("it is measured as a step (kv, ok) and creates a run", async () => {
      model.reset();
      const steps = () =>
        metric(url, "smolstep_step_duration_seconds_count", { agent: "calc", mode: "kv", outcome: "ok" });
      const created = () => metric(url, "smolstep_runs_created_total", { agent: "calc", mode: "kv" });
      const [stepsBefore, createdBefore] = [await steps(), await created()];
      model.enqueue(toolCallReply("calculator", { expression: "2 + 2" }));
      assert.equal((await api.post("/v1/agents/calc/runs", { task: "t", firstStep: true })).status, 201);
      assert.deepEqual([await steps(), await created()], [stepsBefore + 1, createdBefore + 1]);
      // A plain create is not a step.
      assert.equal((await api.post("/v1/agents/calc/runs", { task: "t" })).status, 201);
      assert.equal(await steps(), stepsBefore + 1);
    });

    await t.step("the typed client: startRun with firstStep, and streamStep from a task", async () => {
      model.reset();
      const client = createClient({ baseUrl: url });
      model.enqueue(toolCallReply("calculator", { expression: "2 + 3" }));
      const first = await client.startRun("calc", { task: "What is 2 + 3?", firstStep: true });
      assert.deepEqual([first.status, first.stepNumber], ["running", 1]);
      assert.equal((await client.getRun(first.runId)).stepNumber, 1);

      model.enqueue(toolCallReply("calculator", { expression: "3 + 4" }));
      const seen: StreamStepEvent[] = [];
      for await (const event of client.streamStep({ agent: "calc", start: { task: "What is 3 + 4?" } })) {
        seen.push(event);
      }
      assert.ok(seen.some((e) => e.type === "delta" && e.toolCall?.name === "calculator"), JSON.stringify(seen));
      const stepped = seen.at(-1) as { type: string; response: { runId: string; step: { observations: string } } };
      assert.deepEqual([stepped.type, stepped.response.step.observations], ["step", "7"]);
      assert.equal((await client.getRun(stepped.response.runId)).stepNumber, 1);
    });
  } finally {
    await close();
    kv.close();
    await model.close();
  }
});

Deno.test("firstStep: a stateless run's first step in the request that starts it (real Deno KV)", async (t) => {
  const model = await startScriptedModelServer();
  const kv = await Deno.openKv(":memory:");
  const { url, api, close } = serve({ agents: agents(model), store: new DenoKvStore(kv), secret: SECRET });
  try {
    await t.step("201 with the step and the next token; nothing is kept for it; the run goes on", async () => {
      model.enqueue(toolCallReply("calculator", { expression: "6 * 7" }));
      const first = await api.post("/v1/agents/calc/runs", {
        task: "What is 6 * 7?",
        stateless: true,
        firstStep: true,
      });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.deepEqual([first.body.agent, first.body.status, first.body.stepNumber], ["calc", "running", 1]);
      assert.equal(first.body.step.observations, "42");
      assert.equal(first.body.runId, undefined);
      assert.match(first.body.state, /^st2\./);
      assert.deepEqual(await keys(kv), [], "no ledger entry, no run");

      model.enqueue(toolCallReply("final_answer", { answer: "42" }));
      const last = await api.post("/v1/agents/calc/steps", { state: first.body.state });
      assert.deepEqual([last.status, last.body.status, last.body.finalAnswer], [200, "succeeded", "42"]);
      const replayed = await api.post("/v1/agents/calc/steps", { state: first.body.state });
      assert.deepEqual([replayed.status, replayed.body.error.code], [409, "token_replayed"]);
    });

    await t.step("maxSteps from the body holds for the run", async () => {
      model.reset();
      model.enqueue(toolCallReply("calculator", { expression: "1 + 1" }));
      const first = await api.post("/v1/agents/calc/runs", {
        task: "t",
        maxSteps: 1,
        stateless: true,
        firstStep: true,
      });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      // The step after the last one allowed asks for the final answer from memory, as smolagents does.
      model.enqueue("It is 2.");
      const last = await api.post("/v1/agents/calc/steps", { state: first.body.state });
      assert.deepEqual([last.body.status, last.body.finalAnswer], ["max_steps_error", "It is 2."]);
    });

    await t.step("a first step that fails keeps nothing", async () => {
      model.reset();
      model.enqueue({ status: 500 });
      const failed = await api.post("/v1/agents/calc/runs", { task: "fail", stateless: true, firstStep: true });
      assert.deepEqual([failed.status, failed.body.error.code], [502, "model_error"]);
      assert.deepEqual((await keys(kv)).filter((key) => !key.startsWith("tokens/")), []);
    });

    await t.step("measured as a stateless step; the typed client and streamStep take it", async () => {
      model.reset();
      const steps = () =>
        metric(url, "smolstep_step_duration_seconds_count", { agent: "calc", mode: "stateless", outcome: "ok" });
      const before = await steps();
      const client = createClient({ baseUrl: url });
      model.enqueue(toolCallReply("calculator", { expression: "2 + 3" }));
      const first = await client.startStatelessRun("calc", { task: "What is 2 + 3?", firstStep: true });
      assert.deepEqual([first.status, first.stepNumber], ["running", 1]);
      assert.equal(await steps(), before + 1);
      model.enqueue(toolCallReply("final_answer", { answer: "5" }));
      const done = await client.statelessStep("calc", first.state);
      assert.deepEqual([done.status, done.finalAnswer], ["succeeded", "5"]);

      model.enqueue(toolCallReply("calculator", { expression: "3 + 4" }));
      const seen: StreamStepEvent[] = [];
      const stream = client.streamStep({ agent: "calc", start: { task: "What is 3 + 4?", stateless: true } });
      for await (const event of stream) seen.push(event);
      const stepped = seen.at(-1) as { type: string; response: { state: string; step: { observations: string } } };
      assert.deepEqual([stepped.type, stepped.response.step.observations], ["step", "7"]);
      assert.match(stepped.response.state, /^st2\./);
      await assert.rejects(
        client.startStatelessRun("calc", { task: "", firstStep: true }),
        (error) => error instanceof SmolstepClientError && error.status === 400,
      );
    });
  } finally {
    await close();
    kv.close();
    await model.close();
  }
});

Deno.test("firstStep keeps each mode's guards, and the cap on steps in flight", async (t) => {
  const model = await startScriptedModelServer();
  try {
    await t.step("attack: without a store, an agent with an approval tool is refused before the model", async () => {
      const { api, close } = serve({ agents: agents(model), secret: SECRET });
      try {
        const refused = await api.post("/v1/agents/bank/runs", { task: "pay", stateless: true, firstStep: true });
        assert.deepEqual([refused.status, refused.body.error.code], [403, "stateless_replay_unsafe"]);
        assert.equal(model.requests.length, 0);
      } finally {
        await close();
      }
    });

    await t.step("a task whose first token could not fit a request body is 413 before the model", async () => {
      const { api, close } = serve({ agents: agents(model), secret: SECRET, maxBodyBytes: 64 * 1024 });
      try {
        const random = crypto.getRandomValues(new Uint8Array(40_000));
        const task = btoa(String.fromCharCode(...random)).slice(0, 50_000);
        const refused = await api.post("/v1/agents/calc/runs", { task, stateless: true, firstStep: true });
        assert.deepEqual([refused.status, refused.body.error.code], [413, "task_too_large"]);
        assert.equal(model.requests.length, 0);
      } finally {
        await close();
      }
    });

    await t.step("without a store or a secret, 501 before the model", async () => {
      const { api, close } = serve({ agents: agents(model) });
      try {
        const kv = await api.post("/v1/agents/calc/runs", { task: "t", firstStep: true });
        assert.deepEqual([kv.status, kv.body.error.code], [501, "store_not_configured"]);
        const stateless = await api.post("/v1/agents/calc/runs", { task: "t", stateless: true, firstStep: true });
        assert.deepEqual([stateless.status, stateless.body.error.code], [501, "stateless_not_configured"]);
        assert.equal(model.requests.length, 0);
      } finally {
        await close();
      }
    });

    await t.step("beyond maxStepsInFlight a first step is 503 overloaded; a plain create is not a step", async () => {
      const kv = await Deno.openKv(":memory:");
      const store = new DenoKvStore(kv);
      const { api, close } = serve({ agents: agents(model), store, secret: SECRET, maxStepsInFlight: 1 });
      try {
        model.reset();
        model.enqueue({ ...toolCallReply("calculator", { expression: "1 + 1" }), delayMs: 300 });
        const holding = api.post("/v1/agents/calc/runs", { task: "slow", firstStep: true });
        await until(() => model.requests.length === 1);
        for (const stateless of [false, true]) {
          const refused = await api.post("/v1/agents/calc/runs", { task: "t", firstStep: true, stateless });
          assert.deepEqual([refused.status, refused.body.error.code], [503, "overloaded"]);
          assert.equal(refused.headers.get("Retry-After"), "1");
        }
        assert.equal((await api.post("/v1/agents/calc/runs", { task: "t" })).status, 201);
        assert.equal((await holding).status, 201);
        assert.equal(model.requests.length, 1);
        // The place is given back: the next first step is admitted.
        model.enqueue(toolCallReply("calculator", { expression: "2 + 2" }));
        assert.equal((await api.post("/v1/agents/calc/runs", { task: "t", firstStep: true })).status, 201);
      } finally {
        await close();
        kv.close();
      }
    });
  } finally {
    await model.close();
  }
});
