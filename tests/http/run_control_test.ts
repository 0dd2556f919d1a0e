import assert from "node:assert/strict";
import { z } from "zod";
import { OpenAIServerModel, tool, ToolCallingAgent, UserInputTool } from "../../lib/mod.ts";
import { createApp, MemoryStore } from "../../lib/server.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

/** Reads an SSE response into `{event, id, data}` records until the server closes it. */
async function readEvents(response: Response) {
  const text = await response.text();
  return text.split("\n\n").filter((block) => block.trim()).map((block) => {
    const fields: Record<string, string> = {};
    for (const line of block.split("\n")) {
      const at = line.indexOf(":");
      if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1).trimStart();
    }
    return { event: fields.event, id: fields.id, data: JSON.parse(fields.data ?? "null") };
  });
}

Deno.test("run control: SSE progress, cancellation, approvals and user input", async (t) => {
  const model = await startScriptedModelServer();
  const executed: string[] = [];
  const deleteFile = tool({
    name: "delete_file",
    description: "Deletes a file.",
    inputs: z.object({ path: z.string() }),
    needsApproval: ({ path }) => !path.startsWith("/tmp/"),
    run: ({ path }) => {
      executed.push(path);
      return `deleted ${path}`;
    },
  });
  const slow = tool({
    name: "slow",
    description: "Takes a while.",
    inputs: z.object({}),
    run: () => new Promise((resolve) => setTimeout(() => resolve("slow done"), 300)),
  });
  const agent = new ToolCallingAgent({
    name: "ops",
    model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
    tools: [deleteFile, slow, new UserInputTool()],
  });
  const app = createApp({
    agents: { ops: agent },
    store: new MemoryStore(),
    secret: "control-secret-0123456789",
    events: { pollMs: 20, maxDurationMs: 5_000 },
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const api = apiClient(base);

  try {
    await t.step("SSE streams every step then the end; Last-Event-ID resumes after the given record", async () => {
      model.reset();
      model.enqueue(toolCallReply("delete_file", { path: "/tmp/a" }), toolCallReply("final_answer", { answer: "ok" }));
      const { body: run } = await api.post("/v1/agents/ops/runs", { task: "clean up" });
      const streaming = fetch(`${base}/v1/runs/${run.runId}/events`);
      await api.post(`/v1/runs/${run.runId}/steps`);
      await api.post(`/v1/runs/${run.runId}/steps`);
      const response = await streaming;
      assert.equal(response.headers.get("Content-Type"), "text/event-stream");
      const events = await readEvents(response);
      assert.deepEqual(events.map((e) => e.event), ["step", "step", "step", "step", "end"]);
      assert.deepEqual(events.slice(0, 4).map((e) => e.id), ["0", "1", "2", "3"]);
      assert.deepEqual(events.map((e) => e.data?.type).slice(0, 4), ["task", "action", "action", "final_answer"]);
      assert.deepEqual(events[4].data, { status: "succeeded", finalAnswer: "ok", error: null });
      const resumed = await readEvents(
        await fetch(`${base}/v1/runs/${run.runId}/events`, { headers: { "Last-Event-ID": "1" } }),
      );
      assert.deepEqual(resumed.map((e) => e.id ?? e.event), ["2", "3", "end"]);
      const missing = await fetch(`${base}/v1/runs/00000000-0000-0000-0000-000000000000/events`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    });

    await t.step("cancel: at once when idle; after the step in flight otherwise", async () => {
      model.reset();
      const { body: idle } = await api.post("/v1/agents/ops/runs", { task: "x" });
      const cancelled = await api.post(`/v1/runs/${idle.runId}/cancel`);
      assert.deepEqual([cancelled.status, cancelled.body.status], [200, "cancelled"]);
      const after = await api.post(`/v1/runs/${idle.runId}/steps`);
      assert.deepEqual([after.status, after.body.error.code], [409, "run_finished"]);
      assert.equal(model.requests.length, 0);
      const again = await api.post(`/v1/runs/${idle.runId}/cancel`);
      assert.deepEqual([again.status, again.body.cancelled], [200, true], "cancelling twice answers as the first time");

      // A run that ended otherwise has nothing to cancel: 409 run_finished, not a 202 a client would read as pending.
      model.enqueue(toolCallReply("final_answer", { answer: "done" }));
      const { body: done } = await api.post("/v1/agents/ops/runs", { task: "x" });
      assert.equal((await api.post(`/v1/runs/${done.runId}/steps`)).body.status, "succeeded");
      const late = await api.post(`/v1/runs/${done.runId}/cancel`);
      assert.deepEqual([late.status, late.body.error.code], [409, "run_finished"]);
      assert.match(late.body.error.message, /'succeeded'/);
      assert.equal((await api.get(`/v1/runs/${done.runId}`)).body.status, "succeeded");
      model.reset();

      model.enqueue(toolCallReply("slow", {}));
      const { body: busy } = await api.post("/v1/agents/ops/runs", { task: "x" });
      const stepping = api.post(`/v1/runs/${busy.runId}/steps`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const requested = await api.post(`/v1/runs/${busy.runId}/cancel`);
      assert.deepEqual([requested.status, requested.body.status], [202, "running"]);
      const stepped = await stepping;
      assert.equal(stepped.body.step.observations, "slow done", "the step in flight completed");
      assert.equal(stepped.body.status, "cancelled", "and the run ended right after it");
      assert.equal((await api.get(`/v1/runs/${busy.runId}`)).body.status, "cancelled");
    });

    await t.step("approval (KV mode): pause, inspect, approve, resume", async () => {
      model.reset();
      executed.length = 0;
      model.enqueue(
        toolCallReply("delete_file", { path: "/home/ada/notes" }),
        toolCallReply("final_answer", { answer: "removed" }),
      );
      const { body: run } = await api.post("/v1/agents/ops/runs", { task: "remove notes" });
      const paused = await api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(paused.body.status, "awaiting_input");
      assert.deepEqual(paused.body.pendingInput.kind, "approval");
      assert.equal(paused.body.pendingInput.toolCalls[0].arguments.path, "/home/ada/notes");
      assert.deepEqual(executed, [], "nothing ran before approval");
      const stepWhilePaused = await api.post(`/v1/runs/${run.runId}/steps`);
      assert.deepEqual([stepWhilePaused.status, stepWhilePaused.body.error.code], [409, "not_awaiting_input"]);
      // The run service names no HTTP route; the HTTP layer adds where the answer goes.
      assert.match(stepWhilePaused.body.error.message, new RegExp(`POST /v1/runs/${run.runId}/input\\.$`));
      const badInput = await api.post(`/v1/runs/${run.runId}/input`, { answer: "yes" });
      assert.deepEqual([badInput.status, badInput.body.error.code], [400, "invalid_input"]);
      const approved = await api.post(`/v1/runs/${run.runId}/input`, { approve: true });
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(approved.body.status, "running");
      assert.equal(approved.body.step.observations, "deleted /home/ada/notes");
      assert.deepEqual(executed, ["/home/ada/notes"]);
      const done = await api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(done.body.finalAnswer, "removed");
      const stored = (await api.get(`/v1/runs/${run.runId}`)).body;
      assert.deepEqual(stored.steps.map((s: { type: string }) => s.type), ["task", "action", "action", "final_answer"]);
      const again = await api.post(`/v1/runs/${run.runId}/input`, { approve: true });
      assert.equal(again.status, 409);
    });

    await t.step("rejection (stateless mode): the tool does not run and the model is told why", async () => {
      model.reset();
      executed.length = 0;
      model.enqueue(
        toolCallReply("delete_file", { path: "/etc/passwd" }),
        toolCallReply("final_answer", { answer: "ok" }),
      );
      const created = await api.post("/v1/agents/ops/runs", { task: "tidy", stateless: true });
      const paused = await api.post("/v1/agents/ops/steps", { state: created.body.state });
      assert.equal(paused.body.status, "awaiting_input");
      const rejected = await api.post("/v1/agents/ops/input", {
        state: paused.body.state,
        approve: false,
        reason: "system file",
      });
      assert.equal(rejected.body.status, "running");
      assert.match(rejected.body.step.observations, /rejected this action: system file/);
      await api.post("/v1/agents/ops/steps", { state: rejected.body.state });
      assert.deepEqual(executed, []);
      assert.match(JSON.stringify(model.requests[1].body.messages), /rejected this action: system file/);
    });

    await t.step("user_input: the question waits in the state, the answer becomes the observation", async () => {
      model.reset();
      model.enqueue(
        toolCallReply("user_input", { question: "Which folder?" }),
        toolCallReply("final_answer", { answer: "done" }),
      );
      const created = await api.post("/v1/agents/ops/runs", { task: "clean a folder", stateless: true });
      const asked = await api.post("/v1/agents/ops/steps", { state: created.body.state });
      assert.equal(asked.body.status, "awaiting_input");
      assert.equal(asked.body.pendingInput.question, "Which folder?");
      const answered = await api.post("/v1/agents/ops/input", { state: asked.body.state, answer: "/tmp/cache" });
      assert.equal(answered.body.step.observations, "/tmp/cache");
      const done = await api.post("/v1/agents/ops/steps", { state: answered.body.state });
      assert.equal(done.body.finalAnswer, "done");
    });
  } finally {
    await server.shutdown();
    await model.close();
  }
});

Deno.test("library: run() resumes paused runs with onInput", async () => {
  const asked: unknown[] = [];
  let calls = 0;
  const agent = new ToolCallingAgent({
    model: () => {
      calls++;
      const call = calls % 2 === 1
        ? { name: "user_input", arguments: { question: "Name?" } }
        : { name: "final_answer", arguments: { answer: "hello Ada" } };
      return { content: null, toolCalls: [{ id: `c${calls}`, type: "function" as const, function: call }] };
    },
    tools: [new UserInputTool()],
  });
  const answer = await agent.run("greet the user", {
    onInput: (pending) => {
      asked.push(pending);
      return { answer: "Ada" };
    },
  });
  assert.equal(answer, "hello Ada");
  assert.deepEqual(asked, [{ kind: "question", question: "Name?", callId: "c1" }]);
  await assert.rejects(() => agent.run("greet again"), /waiting for input/);
});
