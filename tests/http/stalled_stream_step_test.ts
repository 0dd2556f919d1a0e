import assert from "node:assert/strict";
import { type ChatMessageStreamDelta, type Model, OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { createApp, MemoryStore } from "../../lib/server.ts";
import { startStallingModelServer } from "../support/stalling_model_server.ts";

/**
 * A streamed step (`Accept: text/event-stream`) whose model reply stalls after its first piece, cut by the step
 * deadline or by the client leaving: the step is abandoned and the run stays byte for byte as it was. Before, the
 * `openai` client ended the cut stream quietly, so the step went on with the piece it had ("Let me", no tool call),
 * recorded it as a step with a parse error and committed it.
 */

const SECRET = "stalled-stream-secret-0123456789";

/** The app on loopback with one agent on `model`, 400 ms step deadline. */
function serve(model: Model) {
  const store = new MemoryStore();
  const agent = new ToolCallingAgent({ name: "assistant", model });
  const app = createApp({ agents: { assistant: agent }, store, secret: SECRET, lockTtlMs: 60_000, stepTimeoutMs: 400 });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const newRun = async () => {
    const response = await fetch(`${base}/v1/agents/assistant/runs`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ task: "t" }),
    });
    const { runId } = await response.json();
    return { runId: runId as string, bytes: (await store.get(`runs/${runId}`))!.value };
  };
  const stepRequest = (runId: string, signal?: AbortSignal) =>
    fetch(`${base}/v1/runs/${runId}/steps`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: "{}",
      signal,
    });
  const statelessStep = (state: string) =>
    fetch(`${base}/v1/agents/assistant/steps`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ state }),
    }).then((response) => response.text());
  const newStatelessRun = async () => {
    const response = await fetch(`${base}/v1/agents/assistant/runs`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ task: "t", stateless: true }),
    });
    return (await response.json()).state as string;
  };
  return { store, newRun, stepRequest, newStatelessRun, statelessStep, close: () => server.shutdown() };
}

Deno.test("a streamed step whose model stalls mid-reply is abandoned, the run unchanged", async (t) => {
  const model = startStallingModelServer();
  const { store, newRun, stepRequest, newStatelessRun, statelessStep, close } = serve(
    new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
  );
  try {
    await t.step("the deadline: the stream's last event is step_timeout; the run is unchanged", async () => {
      const run = await newRun();
      const text = await (await stepRequest(run.runId)).text();
      const events = text.split("\n\n").filter(Boolean).map((frame) => frame.split("\n")[0].slice("event: ".length));
      assert.ok(events.includes("delta"), text);
      assert.equal(events.at(-1), "error", text);
      assert.match(text, /"code":"step_timeout"/);
      assert.equal((await store.get(`runs/${run.runId}`))?.value, run.bytes, "the run changed");
    });

    await t.step("the client leaves after the first delta: the run is unchanged", async () => {
      const run = await newRun();
      const client = new AbortController();
      const response = await stepRequest(run.runId, client.signal);
      const reader = response.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      assert.match(first, /event: delta/);
      client.abort();
      await reader.cancel().catch(() => {});
      // Well within the 400 ms deadline the step notices; wait past it so either way has ended the step.
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal((await store.get(`runs/${run.runId}`))?.value, run.bytes, "the run changed");
    });

    await t.step("stateless: the deadline frees the token's claim, so the same token steps again", async () => {
      const state = await newStatelessRun();
      for (let attempt = 1; attempt <= 2; attempt++) {
        const text = await statelessStep(state);
        assert.match(text, /"code":"step_timeout"/, `attempt ${attempt}: ${text}`);
      }
    });
  } finally {
    await close();
    await model.close();
  }
});

Deno.test("a model of one's own whose stream ends quietly when aborted: the cut step is still abandoned", async () => {
  // As the `openai` client's streams do: a piece, then, once the signal aborts, the end (no error).
  const quiet: Model = {
    modelId: "quiet",
    generate: () => Promise.reject(new Error("only streams here")),
    async *generateStream(_messages, options = {}): AsyncGenerator<ChatMessageStreamDelta> {
      yield { content: "Let me" };
      const { signal } = options;
      await new Promise((resolve) => signal?.aborted ? resolve(null) : signal?.addEventListener("abort", resolve));
    },
  };
  const { store, newRun, stepRequest, close } = serve(quiet);
  try {
    const run = await newRun();
    const text = await (await stepRequest(run.runId)).text();
    assert.match(text, /"code":"step_timeout"/);
    assert.equal((await store.get(`runs/${run.runId}`))?.value, run.bytes, "the run changed");
  } finally {
    await close();
  }
});
