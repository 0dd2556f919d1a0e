import assert from "node:assert/strict";
import { z } from "zod";
import { createAgents } from "../functions/agents.ts";
import { createClient, type RunEvent, type RunView, SmolstepClientError, type StepView } from "../lib/client.ts";
import type { runView, stepView } from "../lib/http/run_views.ts";
import { OpenAIServerModel, tool, ToolCallingAgent } from "../lib/mod.ts";
import { createSmolstep, InProcessQueue, MemoryStore } from "../lib/server.ts";
import { scriptCalculation } from "./support/run_scenarios.ts";
import { startScriptedModelServer, toolCallReply } from "./support/scripted_model_server.ts";

// Compile time: what the server's views produce is assignable to the client's types, which name all its fields.
const _viewsMatch: Array<(view: never) => StepView | RunView> = [
  (view: ReturnType<typeof stepView>): StepView => view,
  (view: ReturnType<typeof runView> & { background: boolean }): RunView => view,
];
type Unnamed<View, Client> = Exclude<View extends unknown ? keyof View : never, keyof Client>;
const _allNamed: Unnamed<ReturnType<typeof stepView>, StepView> | Unnamed<ReturnType<typeof runView>, RunView> extends
  never ? true : false = true;

/** A smolstep server on loopback: KV store, in-process queue, stateless secret, event streams cut after 60 ms. */
function serve(agents: Parameters<typeof createSmolstep>[0]["agents"], apiKeys?: string[]) {
  const queue = new InProcessQueue();
  const secret = "client-test-secret-0123456789";
  const events = { pollMs: 10, maxDurationMs: 60 }; // streams end early, so clients must reconnect
  const smolstep = createSmolstep({ agents, apiKeys, store: new MemoryStore(), queue, lockTtlMs: 200, secret, events });
  queue.listen(smolstep.handleQueueMessage);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    async close() {
      await queue.idle();
      queue.close();
      await server.shutdown();
    },
  };
}

/** A fetch that records every request (path, Last-Event-ID, Idempotency-Key) and runs `before` first. */
function recordingFetch(before?: () => void) {
  const calls: Array<Record<string, string | null>> = [];
  const recorded: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    const path = new URL(String(input)).pathname;
    calls.push({ path, lastEventId: headers.get("Last-Event-ID"), key: headers.get("Idempotency-Key") });
    before?.();
    return fetch(input, init);
  };
  return { calls, fetch: recorded, streams: () => calls.filter((call) => call.path!.endsWith("/events")) };
}

const calculate = (expression: string) => toolCallReply("calculator", { expression });
const answer = (answer: string) => toolCallReply("final_answer", { answer });
const ended = (finalAnswer: string) => ({ type: "end", status: "succeeded", finalAnswer, error: null });
const label = (event: RunEvent) => event.type === "step" ? `${event.id}:${event.step.type}` : event.type;
const isError = (status: number, code: string) => (error: unknown) =>
  error instanceof SmolstepClientError && error.status === status && error.code === code;

async function collect(events: AsyncIterable<RunEvent>, onEvent?: (event: RunEvent) => void) {
  const seen: RunEvent[] = [];
  for await (const event of events) {
    seen.push(event);
    onEvent?.(event);
  }
  return seen;
}

Deno.test("client: typed calls against a real server over loopback", async (t) => {
  const model = await startScriptedModelServer();
  const executed: string[] = [];
  const deleteFile = tool({
    name: "delete_file",
    description: "Deletes a file.",
    inputs: z.object({ path: z.string() }),
    needsApproval: true,
    run: ({ path }) => {
      executed.push(path);
      return `deleted ${path}`;
    },
  });
  const agents = {
    ...createAgents({ OPENAI_BASE_URL: model.url, OPENAI_API_KEY: "k" }),
    ops: new ToolCallingAgent({
      name: "ops",
      model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
      tools: [deleteFile],
    }),
  };
  const app = serve(agents);
  const client = createClient({ baseUrl: `${app.url}/` });

  try {
    await t.step("listAgents, then a KV run stepped to its end with runToEnd", async () => {
      model.reset();
      scriptCalculation(model);
      const { agents: listed, modes } = await client.listAgents();
      assert.deepEqual(listed.map((agent) => agent.name), ["assistant", "researcher", "ops"]);
      assert.deepEqual(modes, { kv: true, stateless: true, background: true });
      assert.equal(listed[2].tools.find((t) => t.name === "delete_file")?.needsApproval, true);

      const created = await client.startRun("assistant", { task: "What is 6 times 7?" });
      assert.deepEqual([created.status, created.background, created.steps.length], ["running", false, 1]);
      const seen: string[] = [];
      const done = await client.runToEnd(created.runId, {
        onStep: (r) => void seen.push(`${r.status}:${r.step?.type}`),
      });
      assert.deepEqual(seen, ["running:action", "succeeded:action"]);
      assert.equal(done.finalAnswer, "6 times 7 is 42");
      assert.deepEqual(done.steps.map((step) => step.type), ["task", "action", "action", "final_answer"]);
      assert.equal((await client.runToEnd(created.runId)).status, "succeeded", "an ended run is returned as is");
      await assert.rejects(client.step(created.runId), isError(409, "run_finished"));
      assert.equal(model.requests.length, 2);
    });

    await t.step("step: a repeated idempotency key replays; a lost response is retried with its key", async () => {
      model.reset();
      model.enqueue(calculate("1 + 1"), calculate("2 + 2"));
      const { runId } = await client.startRun("assistant", { task: "count" });
      const first = await client.step(runId, { idempotencyKey: "step-1" });
      const again = await client.step(runId, { idempotencyKey: "step-1" });
      assert.deepEqual([first.replayed, again.replayed], [false, true]);
      assert.deepEqual(again.step, first.step);
      assert.equal(model.requests.length, 1);

      // The server takes the step, then the connection drops before the client reads the answer.
      const recorder = recordingFetch();
      let dropped = false;
      const flaky = createClient({
        baseUrl: app.url,
        retryDelayMs: 1,
        fetch: async (input, init) => {
          const response = await recorder.fetch(input, init);
          if (dropped) return response;
          dropped = true;
          await response.body?.cancel();
          throw new TypeError("connection reset");
        },
      });
      const retried = await flaky.step(runId);
      assert.equal(retried.replayed, true, "the retry got the step the lost call took");
      assert.equal(retried.step?.type === "action" && retried.step.observations, "4");
      const [sent, resent] = recorder.calls.map((call) => call.key);
      assert.match(sent!, /^[0-9a-f]{32}$/);
      assert.deepEqual([recorder.calls.length, resent], [2, sent]);
      assert.equal(model.requests.length, 2, "no second step ran");
      assert.equal((await client.getRun(runId)).steps.length, 3);
    });

    await t.step("events() follows a background run to its end", async () => {
      model.reset();
      scriptCalculation(model);
      const run = await client.startRun("assistant", { task: "What is 6 times 7?", background: true });
      assert.equal(run.background, true);
      const events = await collect(client.events(run.runId));
      assert.deepEqual(events.map(label), ["0:task", "1:action", "2:action", "3:final_answer", "end"]);
      assert.deepEqual(events.at(-1), ended("6 times 7 is 42"));
      const resumed = await collect(client.events(run.runId, { lastEventId: 1 }));
      assert.deepEqual(resumed.map(label), ["2:action", "3:final_answer", "end"]);
    });

    await t.step("events() reconnects with Last-Event-ID when the server ends streams early", async () => {
      model.reset();
      // The first model reply waits until the client has reconnected once, so the run spans several streams.
      const reconnected = Promise.withResolvers<void>();
      const recorder = recordingFetch(() => recorder.streams().length >= 2 && reconnected.resolve());
      model.setHandler(async (request) => {
        if (JSON.stringify(request.body.messages?.at(-1)).includes("Observation:")) {
          return answer("42");
        }
        await reconnected.promise;
        return calculate("6 * 7");
      });
      const follower = createClient({ baseUrl: app.url, fetch: recorder.fetch });
      const { runId } = await follower.startRun("assistant", { task: "multiply six by seven", background: true });
      const events = await collect(follower.events(runId));
      assert.deepEqual(events.map(label), ["0:task", "1:action", "2:action", "3:final_answer", "end"]);
      assert.deepEqual(events.at(-1), ended("42"));
      const streams = recorder.streams();
      assert.ok(streams.length >= 2);
      assert.deepEqual([streams[0].lastEventId, streams[1].lastEventId], [null, "0"]);
      model.setHandler(undefined);
    });

    await t.step("events(): bounded retries, no retry on a 4xx, and abort through the signal", async () => {
      let attempts = 0;
      const down = createClient({
        baseUrl: app.url,
        retries: 2,
        retryDelayMs: 1,
        fetch: () => (attempts++, Promise.reject(new TypeError("network down"))),
      });
      await assert.rejects(collect(down.events("some-run")), /network down/);
      assert.equal(attempts, 3, "the first try and two retries");
      const recorder = recordingFetch();
      const missing = createClient({ baseUrl: app.url, fetch: recorder.fetch });
      await assert.rejects(collect(missing.events(crypto.randomUUID())), isError(404, "run_not_found"));
      assert.equal(recorder.calls.length, 1);

      const { runId } = await client.startRun("assistant", { task: "never stepped" });
      const controller = new AbortController();
      const following = collect(client.events(runId, { signal: controller.signal }), () => controller.abort());
      await assert.rejects(following, { name: "AbortError" });
      assert.deepEqual(await client.cancel(runId), { runId, status: "cancelled", cancelled: true });
      assert.equal((await client.runToEnd(runId)).status, "cancelled");
    });

    await t.step("deleteRun removes a run; a second delete and a read are 404 run_not_found", async () => {
      model.reset();
      scriptCalculation(model);
      const { runId } = await client.startRun("assistant", { task: "What is 6 times 7?" });
      assert.equal((await client.runToEnd(runId)).status, "succeeded");
      assert.equal(await client.deleteRun(runId), undefined);
      await assert.rejects(client.getRun(runId), isError(404, "run_not_found"));
      await assert.rejects(client.deleteRun(runId), isError(404, "run_not_found"));
    });

    await t.step("approval: runToEnd stops at the pause, events() announces it once, submitInput resumes", async () => {
      model.reset();
      executed.length = 0;
      model.enqueue(toolCallReply("delete_file", { path: "/home/ada/notes" }), answer("removed"));
      const { runId } = await client.startRun("ops", { task: "remove notes" });
      const paused = await client.runToEnd(runId);
      assert.equal(paused.status, "awaiting_input");
      assert.equal(paused.pendingInput?.kind === "approval" && paused.pendingInput.toolCalls[0].name, "delete_file");
      assert.deepEqual(executed, []);

      // The server repeats the pause on every new stream; approve once the client has reconnected twice.
      const reconnectedTwice = Promise.withResolvers<void>();
      const recorder = recordingFetch(() => recorder.streams().length >= 3 && reconnectedTwice.resolve());
      const follower = createClient({ baseUrl: app.url, fetch: recorder.fetch });
      const approving = reconnectedTwice.promise.then(async () => {
        const resumed = await client.submitInput(runId, { approve: true });
        assert.equal(resumed.step?.type === "action" && resumed.step.observations, "deleted /home/ada/notes");
        return await client.runToEnd(runId);
      });
      const events = await collect(follower.events(runId));
      const done = await approving;
      const expected = ["0:task", "1:action", "awaiting_input", "2:action", "3:final_answer", "end"];
      assert.deepEqual(events.map(label), expected, "each step once, the pause once");
      assert.deepEqual([done.status, done.finalAnswer, executed], ["succeeded", "removed", ["/home/ada/notes"]]);
      await assert.rejects(client.submitInput(runId, { approve: true }), isError(409, "not_awaiting_input"));
    });

    await t.step("stateless: start, step to a pause, reject, step to the end", async () => {
      model.reset();
      executed.length = 0;
      model.enqueue(toolCallReply("delete_file", { path: "/etc/passwd" }), answer("kept it"));
      const started = await client.startStatelessRun("ops", { task: "tidy up" });
      assert.deepEqual([started.agent, started.status], ["ops", "running"]);
      assert.match(started.state, /^st2\./);
      const paused = await client.statelessStep("ops", started.state);
      assert.equal(paused.status, "awaiting_input");
      const rejected = await client.statelessInput("ops", paused.state, { approve: false, reason: "system file" });
      assert.match(String(rejected.step?.type === "action" && rejected.step.observations), /rejected.*system file/);
      const done = await client.statelessStep("ops", rejected.state);
      assert.deepEqual([done.status, done.finalAnswer, executed], ["succeeded", "kept it", []]);
      await assert.rejects(client.statelessStep("assistant", done.state), isError(400, "token_agent_mismatch"));
    });

    await t.step("errors: SmolstepClientError carries the status and code; 401 without the right key", async () => {
      await assert.rejects(client.getRun(crypto.randomUUID()), isError(404, "run_not_found"));
      await assert.rejects(client.startRun("nobody", { task: "x" }), isError(404, "agent_not_found"));
      await assert.rejects(client.startRun("assistant", { task: "" }), (error: SmolstepClientError) => {
        assert.ok(isError(400, "invalid_request")(error));
        return /task must not be empty/.test(error.message);
      });
      const timeout = new Response("upstream timed out", { status: 504, statusText: "Gateway Timeout" });
      const gateway = createClient({ baseUrl: app.url, fetch: () => Promise.resolve(timeout) });
      await assert.rejects(gateway.listAgents(), { status: 504, code: "http_error", message: "upstream timed out" });

      const locked = serve(agents, ["sk-right"]);
      try {
        await assert.rejects(createClient({ baseUrl: locked.url }).listAgents(), isError(401, "unauthorized"));
        const wrong = createClient({ baseUrl: locked.url, apiKey: "sk-wrong" });
        await assert.rejects(wrong.getRun(crypto.randomUUID()), isError(401, "unauthorized"));
        const right = createClient({ baseUrl: locked.url, apiKey: "sk-right" });
        assert.equal((await right.listAgents()).agents.length, 3); // assistant, researcher, ops
      } finally {
        await locked.close();
      }
    });
  } finally {
    await app.close();
    await model.close();
  }
});

Deno.test("client: events() retries by the error body's `retryable` when the server sends it, by the status otherwise", async (t) => {
  /** A fetch answering every request with `status` and `body`, counting the attempts. */
  const answering = (status: number, body: unknown) => {
    let attempts = 0;
    const fetch: typeof globalThis.fetch = () => {
      attempts++;
      const text = typeof body === "string" ? body : JSON.stringify(body);
      return Promise.resolve(new Response(text, { status, headers: { "content-type": "application/json" } }));
    };
    return { fetch, attempts: () => attempts };
  };
  const follow = (fetch: typeof globalThis.fetch) =>
    collect(createClient({ baseUrl: "http://127.0.0.1:9", retries: 2, retryDelayMs: 1, fetch }).events("r"));

  await t.step("a 503 whose body says retryable: false is not retried", async () => {
    const server = answering(503, { error: { code: "store_unavailable", message: "no", retryable: false } });
    await assert.rejects(follow(server.fetch), isError(503, "store_unavailable"));
    assert.equal(server.attempts(), 1);
  });
  await t.step("a 409 whose body says retryable: true is retried", async () => {
    const server = answering(409, { error: { code: "step_in_progress", message: "busy", retryable: true } });
    await assert.rejects(follow(server.fetch), isError(409, "step_in_progress"));
    assert.equal(server.attempts(), 3, "the first try and two retries");
  });
  await t.step("without `retryable` in the body: the status decides (503 retried, 404 not)", async () => {
    const gateway = answering(503, "Service Unavailable");
    await assert.rejects(follow(gateway.fetch), isError(503, "http_error"));
    assert.equal(gateway.attempts(), 3);
    const missing = answering(404, { error: { code: "run_not_found", message: "gone" } });
    await assert.rejects(follow(missing.fetch), isError(404, "run_not_found"));
    assert.equal(missing.attempts(), 1);
  });
});

Deno.test("client: lib/client.ts imports only the dependency-free SSE reader, so browser bundles get no hono, zod or openai", async () => {
  const root = new URL("../", import.meta.url);
  const command = new Deno.Command(Deno.execPath(), { args: ["info", "--json", "lib/client.ts"], cwd: root });
  const output = await command.output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  type Dependency = { code?: { specifier: string }; type?: { specifier: string } };
  const graph = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    roots: string[];
    modules: Array<{ specifier: string; dependencies?: Dependency[] }>;
  };
  const modules = new Map(graph.modules.map((module) => [module.specifier, module]));
  // What a bundler includes: modules reached through value imports. `import type` edges are erased.
  const reached = new Set(graph.roots);
  for (const specifier of reached) {
    for (const dependency of modules.get(specifier)?.dependencies ?? []) {
      if (dependency.code) reached.add(dependency.code.specifier);
    }
  }
  const sse = new URL("lib/net/sse.ts", root).href;
  assert.deepEqual([...reached], [new URL("lib/client.ts", root).href, sse]);
  assert.deepEqual(modules.get(sse)?.dependencies ?? [], [], "the SSE reader imports nothing");
  const imports = modules.get(graph.roots[0])?.dependencies ?? [];
  const typeOnly = imports.filter((d) => d.code?.specifier !== sse);
  assert.ok(typeOnly.length > 0 && typeOnly.every((d) => !d.code && d.type?.specifier.startsWith(`${root.href}lib/`)));
  // An npm: specifier, or a file under node_modules/ where Deno resolves through one ("nodeModulesDir": "manual").
  const npm = (specifier: string) => specifier.startsWith("npm:") || specifier.includes("/node_modules/zod/");
  assert.ok(graph.modules.some((module) => npm(module.specifier)), "the types do reach zod");
});
