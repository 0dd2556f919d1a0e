import assert from "node:assert/strict";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { createSmolstep, MemoryStore } from "../../lib/server.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { until } from "../support/until.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Sends a step request's headers and the start of its body over a raw connection, then nothing more. */
async function startSlowBody(port: number, path: string, headers: string): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    encoder.encode(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}\r\n{`),
  );
  return conn;
}

/** Reads what the server answers on `conn` until it closes or the status line is in. */
async function statusLine(conn: Deno.TcpConn): Promise<string> {
  const buffer = new Uint8Array(4096);
  let text = "";
  while (!text.includes("\r\n")) {
    const read = await conn.read(buffer);
    if (read === null) break;
    text += decoder.decode(buffer.subarray(0, read));
  }
  return text.split("\r\n")[0];
}

Deno.test("attack: a step body that never ends does not hold a place among the steps in flight", async (t) => {
  const model = await startScriptedModelServer();
  model.setHandler(() => toolCallReply("final_answer", { answer: "done" }));
  const agent = new ToolCallingAgent({
    name: "assistant",
    model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
  });
  const smolstep = createSmolstep({
    agents: { assistant: agent },
    store: new MemoryStore(),
    secret: "slow-body-secret-0123456789",
    maxStepsInFlight: 1,
    stepTimeoutMs: 1_500,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  const api = apiClient(url);
  const health = async () => (await (await fetch(`${url}/health`)).json()).stepsInFlight;
  try {
    const { body: run } = await api.post("/v1/agents/assistant/runs", { task: "one" });
    for (
      const [framing, headers] of [["Content-Length", "Content-Length: 100\r\n"], [
        "chunked",
        "Transfer-Encoding: chunked\r\n",
      ]]
    ) {
      await t.step(
        `${framing}: the slow request is 408 request_timeout within stepTimeoutMs, its place given back`,
        async () => {
          // A chunked body's first chunk, never ended.
          const conn = await startSlowBody(server.addr.port, `/v1/runs/${run.runId}/steps`, headers);
          try {
            await until(async () => (await health()) === 1, "the slow request takes the one place");
            let timer: ReturnType<typeof setTimeout> | undefined;
            const gaveUp = new Promise<string>((resolve) => {
              timer = setTimeout(() => resolve("no answer within 10 s"), 10_000);
            });
            // Answered near stepTimeoutMs (1.5 s), not only when the client leaves.
            const answer = await Promise.race([statusLine(conn), gaveUp]);
            clearTimeout(timer);
            assert.match(answer, /^HTTP\/1\.1 408 /);
            await until(async () => (await health()) === 0, "the place is free again");
          } finally {
            conn.close();
          }
        },
      );
    }

    await t.step("a well-formed step is then served, and a slow body's run was never touched", async () => {
      const next = await api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(next.status, 200, JSON.stringify(next.body));
      assert.equal(next.body.finalAnswer, "done");
      assert.equal(model.requests.length, 1);
    });
  } finally {
    await server.shutdown();
    await model.close();
  }
});
