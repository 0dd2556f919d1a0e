/**
 * An unhandled error's message and stack stay out of the process's output. A step callback throws a plain error
 * holding the model key and the API key while answering a chat completion (`/v1/chat/completions`, run to its answer
 * in the request, streamed and not) and a run's step (`/v1/runs/{id}/steps`): the client gets a 500 without the
 * message, and nothing the process writes to the console (stdout, stderr) holds either key.
 */
import assert from "node:assert/strict";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { createSmolstep, MemoryStore } from "../../lib/server.ts";
import { createLogger } from "../../lib/logging/logger.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const MODEL_KEY = "sk-model-key-unhandled-0123456789";
const API_KEY = "api-key-unhandled-0123456789";

Deno.test("attack: an unhandled error holding secrets is not written to the console, on any route", async () => {
  await using model = await startScriptedModelServer();
  model.setHandler(() => toolCallReply("final_answer", { answer: "done" }));
  const crashy = new ToolCallingAgent({
    name: "crashy",
    model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: MODEL_KEY, maxRetries: 0 }),
    stepCallbacks: [() => {
      throw new Error(`callback failed while holding ${MODEL_KEY} and ${API_KEY}`);
    }],
  });
  const written: string[] = [];
  const original = { log: console.log, info: console.info, warn: console.warn, error: console.error };
  const capture = (...args: unknown[]) => {
    written.push(args.map((arg) => arg instanceof Error ? `${arg.message}\n${arg.stack}` : String(arg)).join(" "));
  };
  Object.assign(console, { log: capture, info: capture, warn: capture, error: capture });
  const smolstep = createSmolstep({
    agents: { crashy },
    store: new MemoryStore(),
    apiKeys: [API_KEY],
    // The default logger, writing its lines to the console.
    logger: createLogger({ level: "debug" }),
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  const api = apiClient(url, { apiKey: API_KEY });
  try {
    const chat = (stream: boolean) =>
      fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { Authorization: `Bearer ${API_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify({ model: "crashy", messages: [{ role: "user", content: "hi" }], stream }),
      });
    const plain = await chat(false);
    assert.equal(plain.status, 500);
    const streamed = await chat(true);
    const bodies = [await plain.text(), await streamed.text()];
    const { body: run } = await api.post("/v1/agents/crashy/runs", { task: "hi" });
    const step = await api.post(`/v1/runs/${run.runId}/steps`);
    assert.deepEqual([step.status, step.body.error.code], [500, "internal_error"]);
    bodies.push(JSON.stringify(step.body));
    assert.ok(written.length > 0, "the console was captured (the request log lines)");
    for (const text of [...written, ...bodies]) {
      assert.ok(!text.includes(MODEL_KEY) && !text.includes(API_KEY), `a secret was written: ${text.slice(0, 300)}`);
    }
  } finally {
    Object.assign(console, original);
    await server.shutdown();
  }
});
