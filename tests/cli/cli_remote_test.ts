/**
 * `--remote`: the real command line drives a real smolstep app over loopback with the typed client: the server's
 * agent and tools, its bearer key, a server-side approval answered on the CLI's stdin.
 */
import assert from "node:assert/strict";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { createSmolstep, MemoryStore } from "../../lib/server.ts";
import { deleteFileTool, echoTool } from "../support/approval_tools.ts";
import { runCli, spawnCli } from "../support/cli_process.ts";
import { createClient } from "../../lib/client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const API_KEY = "cli-remote-test-key";

async function serveApp(modelUrl: string, deleted: string[]) {
  const model = new OpenAIServerModel({ modelId: "scripted", apiBase: modelUrl, apiKey: "k", maxRetries: 0 });
  const ops = new ToolCallingAgent({ name: "ops", model, tools: [deleteFileTool(deleted), echoTool], maxSteps: 4 });
  const helper = new ToolCallingAgent({ name: "helper", model, tools: [echoTool], maxSteps: 2 });
  const smolstep = createSmolstep({ agents: { helper, ops }, store: new MemoryStore(), apiKeys: [API_KEY] });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  await Promise.resolve();
  return { url: `http://127.0.0.1:${server.addr.port}`, [Symbol.asyncDispose]: () => server.shutdown() };
}

Deno.test("cli run --remote", async (t) => {
  await using model = await startScriptedModelServer();
  const deleted: string[] = [];
  await using app = await serveApp(model.url, deleted);

  await t.step("a server-side approval answered on stdin; the key from SMOLSTEP_API_KEY", async () => {
    model.enqueue(
      toolCallReply("delete_file", { path: "/tmp/old.log" }),
      toolCallReply("final_answer", { answer: "gone" }),
    );
    const { code, stdout, stderr } = await runCli(
      ["run", "Delete the old log", "--remote", app.url, "--agent", "ops"],
      {
        stdin: "y\n",
        env: { SMOLSTEP_API_KEY: API_KEY },
      },
    );
    assert.equal(code, 0, stderr + stdout);
    assert.match(stdout, new RegExp(`^New run ops \\(ToolCallingAgent · remote ${app.url} · [\\w-]+\\)\\n`));
    assert.match(stdout, /⏸ Approval needed: delete_file\(\{"path":"\/tmp\/old\.log"\}\)\nRun delete_file/);
    assert.match(stdout, /Observations: deleted \/tmp\/old\.log/);
    assert.match(stdout, /Final answer: gone\n✔ succeeded/);
    assert.deepEqual(deleted, ["/tmp/old.log"]);
  });

  await t.step("--json: the server's deltas and steps as events; --api-key; the first agent by default", async () => {
    model.enqueue(toolCallReply("echo", { text: "hi" }), toolCallReply("final_answer", { answer: "said hi" }));
    const { code, stdout, stderr } = await runCli([
      "run",
      "Say hi",
      "--remote",
      app.url,
      "--api-key",
      API_KEY,
      "--json",
    ]);
    assert.equal(code, 0, stderr);
    const events = stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    assert.equal(events[0].type, "start");
    assert.equal(events[0].agent, "helper");
    assert.match(events[0].runId, /\S/);
    assert.ok(events.some((event) => event.type === "delta"), "deltas streamed from the server");
    assert.deepEqual(events.filter((event) => event.type === "step").map((event) => event.step.stepNumber), [1, 2]);
    assert.deepEqual(events.at(-1), {
      type: "end",
      status: "succeeded",
      output: "said hi",
      error: null,
      tokenUsage: events.at(-1).tokenUsage,
      durationMs: events.at(-1).durationMs,
      exitCode: 0,
      interrupted: false,
    });
  });

  await t.step("a rejection at the prompt reaches the server: the tool never runs", async () => {
    deleted.length = 0;
    model.enqueue(
      toolCallReply("delete_file", { path: "/etc/passwd" }),
      toolCallReply("final_answer", { answer: "ok" }),
    );
    const { code } = await runCli(["run", "Delete it", "--remote", app.url, "--agent", "ops", "--api-key", API_KEY], {
      stdin: "n\n",
    });
    assert.equal(code, 0);
    assert.deepEqual(deleted, []);
  });

  await t.step("a wrong key: failed with the server's message, 1; an unknown agent: 2", async () => {
    const wrong = await runCli(["run", "x", "--remote", app.url, "--api-key", "wrong"]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /smolstep: the server answered 401 \w+: /);
    const unknown = await runCli(["run", "x", "--remote", app.url, "--api-key", API_KEY, "--agent", "nobody"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /The server has no agent 'nobody' \(it has helper, ops\)/);
  });
});

Deno.test("cli run --remote: Ctrl-C while the server's model works cancels the run there, exit 130", async () => {
  await using model = await startScriptedModelServer({ replies: [{ content: "never sent", delayMs: 60_000 }] });
  await using app = await serveApp(model.url, []);
  const { child, result } = spawnCli(["run", "Wait", "--remote", app.url, "--api-key", API_KEY, "--json"]);
  while (!model.requests.some((request) => request.method === "POST")) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.kill("SIGINT");
  const { code, stdout, stderr } = await result;
  assert.equal(code, 130, stderr);
  const events = stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
  const runId = events[0].runId;
  assert.match(stderr, new RegExp(`Interrupted: cancelling run ${runId}\\.`));
  assert.equal(events.at(-1).type, "end");
  assert.equal(events.at(-1).interrupted, true);
  const client = createClient({ baseUrl: app.url, apiKey: API_KEY });
  let run = await client.getRun(runId);
  for (let attempt = 0; attempt < 500 && run.status === "running"; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    run = await client.getRun(runId);
  }
  assert.equal(run.status, "cancelled");
});
