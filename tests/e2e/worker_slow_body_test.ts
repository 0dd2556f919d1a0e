/**
 * Attack, in workerd (functions/worker.ts under wrangler dev): a step request whose body never ends. The step route
 * takes its place among the steps in flight before reading the body; the body must arrive within the step's time
 * (`SMOLSTEP_STEP_TIMEOUT_MS`), else 408 and the place is free. Before, the request held the one place until the
 * client left, and every other step was 503 `overloaded`.
 */
import assert from "node:assert/strict";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { startWranglerDev } from "../support/wrangler_dev.ts";

Deno.test({
  name: "attack (workerd): a step body that never ends is 408 at the step deadline, its place given back",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const model = await startScriptedModelServer();
  model.setHandler(() => toolCallReply("final_answer", { answer: "done" }));
  const worker = await startWranglerDev({
    config: "wrangler.toml",
    readyPath: "/health",
    vars: {
      OPENAI_BASE_URL: model.url,
      OPENAI_API_KEY: "test-key",
      SMOLSTEP_MODEL: "scripted-model",
      SMOLSTEP_SECRET: "worker-secret-0123456789abcdef",
      SMOLSTEP_MAX_STEPS_IN_FLIGHT: "1",
      SMOLSTEP_STEP_TIMEOUT_MS: "2000",
      SMOLSTEP_LOCK_TTL_MS: "10000",
    },
  });
  const api = apiClient(worker.url);
  let conn: Deno.TcpConn | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const { body: run } = await api.post("/v1/agents/assistant/runs", { task: "one" });
    conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(worker.url).port) });
    const head = `POST /v1/runs/${run.runId}/steps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
      "Content-Length: 100\r\n\r\n{";
    await conn.write(new TextEncoder().encode(head));
    const buffer = new Uint8Array(2_000);
    const answered = conn.read(buffer).then((n) => new TextDecoder().decode(buffer.subarray(0, n ?? 0)));
    const gaveUp = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve("no answer within 10 s"), 10_000);
    });
    assert.match(await Promise.race([answered, gaveUp]), /^HTTP\/1\.1 408 /);
    const next = await api.post(`/v1/runs/${run.runId}/steps`);
    assert.equal(next.status, 200, JSON.stringify(next.body));
    assert.equal(next.body.finalAnswer, "done");
  } finally {
    clearTimeout(timer);
    conn?.close();
    await worker.close();
    await model.close();
  }
});
