/**
 * `client.step()` whose connection is lost while the server is still taking the step (a slow model): the retry with
 * the same `Idempotency-Key` meets 409 `step_in_progress` until that step commits, and must wait for it rather than
 * give up, then get the step (replayed, or taken once). Real server over loopback, Deno KV, the scripted model.
 */
import assert from "node:assert/strict";
import { DenoKvStore } from "../lib/adapters/deno/deno_kv_store.ts";
import { createClient, type SmolstepClient, type StepResponse } from "../lib/client.ts";
import { OpenAIServerModel, ToolCallingAgent } from "../lib/mod.ts";
import { createSmolstep } from "../lib/server.ts";
import { startScriptedModelServer, toolCallReply } from "./support/scripted_model_server.ts";

/** The two ways to take one KV step: `step()`, and `streamStep()` (its last event's response). */
const takers: Record<string, (client: SmolstepClient, runId: string) => Promise<StepResponse>> = {
  step: (client, runId) => client.step(runId),
  async streamStep(client, runId) {
    for await (const event of client.streamStep(runId)) {
      if ("response" in event) return event.response as StepResponse;
    }
    throw new Error("no step event");
  },
};

for (const [name, take] of Object.entries(takers)) {
  Deno.test(`client.${name}: a connection lost mid-step is retried until the step it started is there`, async () => {
    await using model = await startScriptedModelServer();
    const kv = await Deno.openKv(":memory:");
    const llm = new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 });
    const smolstep = createSmolstep({
      agents: { assistant: new ToolCallingAgent({ name: "assistant", model: llm, tools: [], maxSteps: 3 }) },
      store: new DenoKvStore(kv),
      lockTtlMs: 10_000,
    });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
    const baseUrl = `http://127.0.0.1:${server.addr.port}`;
    try {
      // A step of 2.5 s: the client's default retries (3, from 250 ms doubling) span 1.75 s.
      model.enqueue({ ...toolCallReply("final_answer", { answer: "slow" }), delayMs: 2_500 });
      let sent: Promise<unknown> | undefined;
      let calls = 1; // startRun goes through; the first step request is the one lost
      const client = createClient({
        baseUrl,
        fetch: async (input, init) => {
          if (calls++ > 0) return await fetch(input, init);
          // The first request reaches the server and is taken there; its answer is lost on the way back (a proxy
          // or a mobile network dropped the client's side of the connection: the server's side lives on).
          sent = fetch(input, init).then((response) => response.body?.cancel());
          await new Promise((resolve) => setTimeout(resolve, 200));
          throw new TypeError("connection reset");
        },
      });
      const { runId } = await client.startRun("assistant", { task: "slowly" });
      calls = 0;
      const result = await take(client, runId);
      assert.equal(result.status, "succeeded");
      assert.equal(result.finalAnswer, "slow");
      assert.equal(result.replayed, true, "the step the lost request took, replayed");
      assert.equal(model.requests.length, 1, "one step, one model call");
      await sent;
    } finally {
      await server.shutdown();
      kv.close();
    }
  });
}
