import assert from "node:assert/strict";
import { z } from "zod";
import { calculatorTool, OpenAIServerModel, tool, ToolCallingAgent } from "../../lib/mod.ts";
import { type AppOptions, createApp } from "../../lib/server.ts";
import { StateTokenCodec } from "../../lib/runs/state_token.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { apiClient } from "../support/http_client.ts";
import { type ScriptedModelServer, startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const SECRET = "stateless-replay-secret-0123456789";

/** An agent whose `transfer` tool has a side effect and needs approval; `invocations` counts its runs. */
function bank(model: ScriptedModelServer) {
  const invocations: string[] = [];
  const transfer = tool({
    name: "transfer",
    description: "Sends money.",
    inputs: z.object({ to: z.string() }),
    needsApproval: true,
    run: async ({ to }) => {
      invocations.push(to);
      await new Promise((resolve) => setTimeout(resolve, 50)); // long enough for concurrent requests to overlap
      return `sent to ${to}`;
    },
  });
  const openai = new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 });
  const agents = {
    bank: new ToolCallingAgent({ name: "bank", model: openai, tools: [transfer] }),
    calc: new ToolCallingAgent({ name: "calc", model: openai, tools: [calculatorTool] }),
    boss: new ToolCallingAgent({
      name: "boss",
      model: openai,
      managedAgents: [new ToolCallingAgent({ name: "teller", description: "Pays.", model: openai, tools: [transfer] })],
    }),
  };
  return { agents, invocations };
}

function serve(options: AppOptions) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, createApp(options).fetch);
  return { api: apiClient(`http://127.0.0.1:${server.addr.port}`), close: () => server.shutdown() };
}

/** Starts a stateless run of `bank` and steps it to the approval pause; returns the paused token. */
async function pausedToken(api: ReturnType<typeof apiClient>, model: ScriptedModelServer) {
  model.enqueue(toolCallReply("transfer", { to: "mallory" }));
  const created = await api.post("/v1/agents/bank/runs", { task: "pay mallory", stateless: true });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const paused = await api.post("/v1/agents/bank/steps", { state: created.body.state });
  assert.equal(paused.status, 200, JSON.stringify(paused.body));
  assert.equal(paused.body.status, "awaiting_input");
  return { created: created.body.state as string, paused: paused.body.state as string };
}

Deno.test("stateless token replay attack, server with a store (real Deno KV): each token steps once", async (t) => {
  const model = await startScriptedModelServer();
  const kv = await Deno.openKv(":memory:");
  const { agents, invocations } = bank(model);
  const { api, close } = serve({ agents, store: new DenoKvStore(kv), secret: SECRET });
  try {
    await t.step(
      "replaying an approved awaiting_input token: 409 token_replayed, the tool does not run again",
      async () => {
        model.reset();
        invocations.length = 0;
        const { paused } = await pausedToken(api, model);
        const approved = await api.post("/v1/agents/bank/input", { state: paused, approve: true });
        assert.equal(approved.status, 200, JSON.stringify(approved.body));
        assert.equal(approved.body.step.observations, "sent to mallory");
        assert.deepEqual(invocations, ["mallory"]);
        const replayed = await api.post("/v1/agents/bank/input", { state: paused, approve: true });
        assert.deepEqual([replayed.status, replayed.body.error.code], [409, "token_replayed"]);
        assert.deepEqual(invocations, ["mallory"], "the side effect happened once");
      },
    );

    await t.step("replaying a stepped token on /steps: 409 token_replayed, no model call, no tool", async () => {
      model.reset();
      invocations.length = 0;
      const { created } = await pausedToken(api, model);
      const replayed = await api.post("/v1/agents/bank/steps", { state: created });
      assert.deepEqual([replayed.status, replayed.body.error.code], [409, "token_replayed"]);
      assert.equal(model.requests.length, 1, "only the first step called the model");
    });

    await t.step("the same token sent twice at once: one runs, the other is refused", async () => {
      model.reset();
      invocations.length = 0;
      const { paused } = await pausedToken(api, model);
      const answers = await Promise.all([
        api.post("/v1/agents/bank/input", { state: paused, approve: true }),
        api.post("/v1/agents/bank/input", { state: paused, approve: true }),
      ]);
      assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409]);
      assert.equal(answers.find((a) => a.status === 409)!.body.error.code, "token_replayed");
      assert.deepEqual(invocations, ["mallory"]);
    });

    await t.step("a failed step frees its token: the same token can be retried", async () => {
      model.reset();
      model.enqueue({ status: 500, error: "model down" }, toolCallReply("final_answer", { answer: "4" }));
      const created = await api.post("/v1/agents/calc/runs", { task: "2+2", stateless: true });
      const failed = await api.post("/v1/agents/calc/steps", { state: created.body.state });
      assert.deepEqual([failed.status, failed.body.error.code], [502, "model_error"]);
      const retried = await api.post("/v1/agents/calc/steps", { state: created.body.state });
      assert.equal(retried.status, 200, JSON.stringify(retried.body));
      assert.equal(retried.body.finalAnswer, "4");
      const again = await api.post("/v1/agents/calc/steps", { state: created.body.state });
      assert.deepEqual([again.status, again.body.error.code], [409, "token_replayed"]);
    });

    await t.step("an invalid input frees the token too: the paused token can still be answered", async () => {
      model.reset();
      invocations.length = 0;
      const { paused } = await pausedToken(api, model);
      const bad = await api.post("/v1/agents/bank/input", { state: paused, answer: "yes" });
      assert.deepEqual([bad.status, bad.body.error.code], [400, "invalid_input"]);
      const rejected = await api.post("/v1/agents/bank/input", { state: paused, approve: false, reason: "no" });
      assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
      assert.deepEqual(invocations, []);
    });
  } finally {
    await close();
    await model.close();
    kv.close();
  }
});

Deno.test("stateless token replay attack, server without a store: approval tools refuse stateless mode unless opted in", async (t) => {
  const model = await startScriptedModelServer();
  const { agents, invocations } = bank(model);
  const storeless = serve({ agents, secret: SECRET });
  const optedIn = serve({ agents, secret: SECRET, allowStatelessReplay: true });
  try {
    await t.step(
      "refused: run creation, /steps and /input answer 403 stateless_replay_unsafe; nothing runs",
      async () => {
        model.reset();
        const created = await storeless.api.post("/v1/agents/bank/runs", { task: "pay", stateless: true });
        assert.deepEqual([created.status, created.body.error.code], [403, "stateless_replay_unsafe"]);
        assert.match(created.body.error.message, /'bank\/transfer'.*allowStatelessReplay/);
        const managed = await storeless.api.post("/v1/agents/boss/runs", { task: "pay", stateless: true });
        assert.deepEqual([managed.status, managed.body.error.code], [403, "stateless_replay_unsafe"]);
        assert.match(managed.body.error.message, /'teller\/transfer'/, "managed agents' tools count too");
        // A token sealed elsewhere with the same secret is refused as well, before anything runs.
        const codec = new StateTokenCodec(SECRET);
        const token = await codec.seal("bank", agents.bank.start("pay"));
        for (
          const [route, body] of [["steps", { state: token }], ["input", { state: token, approve: true }]] as const
        ) {
          const answer = await storeless.api.post(`/v1/agents/bank/${route}`, body);
          assert.deepEqual([answer.status, answer.body.error.code], [403, "stateless_replay_unsafe"], route);
        }
        assert.equal(model.requests.length, 0);
        assert.deepEqual(invocations, []);
      },
    );

    await t.step("agents without approval tools keep stateless mode without a store", async () => {
      model.reset();
      model.enqueue(toolCallReply("final_answer", { answer: "4" }));
      const created = await storeless.api.post("/v1/agents/calc/runs", { task: "2+2", stateless: true });
      assert.equal(created.status, 201);
      const done = await storeless.api.post("/v1/agents/calc/steps", { state: created.body.state });
      assert.equal(done.body.finalAnswer, "4");
    });

    await t.step(
      "opted in (allowStatelessReplay): allowed, and a replay runs the tool again, as documented",
      async () => {
        model.reset();
        invocations.length = 0;
        const { paused } = await pausedToken(optedIn.api, model);
        for (let i = 0; i < 2; i++) {
          const approved = await optedIn.api.post("/v1/agents/bank/input", { state: paused, approve: true });
          assert.equal(approved.status, 200, JSON.stringify(approved.body));
        }
        assert.deepEqual(invocations, ["mallory", "mallory"]);
      },
    );
  } finally {
    await storeless.close();
    await optedIn.close();
    await model.close();
  }
});
