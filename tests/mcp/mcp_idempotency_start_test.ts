import assert from "node:assert/strict";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { claimRequest } from "../../lib/http/request_replay.ts";
import { callReplay } from "../../lib/mcp/server/mcp_idempotency.ts";
import { IDEMPOTENCY_KEY_META, mcpServer, RUN_ID_META } from "../../lib/mcp/server/mod.ts";
import { RunService } from "../../lib/runs/run_service.ts";
import { type AppOptions, createSmolstep, InProcessQueue, type QueueMessage } from "../../lib/server.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { connect, helperAgents } from "./mcp_server_support.ts";
import type { ToolCallingAgent } from "../../lib/mod.ts";

/**
 * An MCP call named by an idempotency key whose background run was created but never started (the queue refused its
 * first step, or the process died between naming the run and queueing it): the same call sent again must not follow
 * a run that nothing steps.
 */

const API_KEY = "idempotent-start-key";
const LOCK_TTL_MS = 300;
const TASK = { task: "6 x 7?" };

/** A queue whose next `enqueue` fails once when `refuseNext` is set (the platform queue down for a moment). */
class FlakyQueue extends InProcessQueue {
  refuseNext = false;
  override enqueue(message: QueueMessage, options?: { delayMs?: number }): Promise<void> {
    if (!this.refuseNext) return super.enqueue(message, options);
    this.refuseNext = false;
    return Promise.reject(new Error("the queue is down"));
  }
}

async function withApp(
  test: (
    app: { store: DenoKvStore; queue: FlakyQueue; agent: ToolCallingAgent; call(): Promise<CallToolResult> },
  ) => Promise<void>,
) {
  await using model = await startScriptedModelServer();
  model.setHandler(() => toolCallReply("final_answer", { answer: "42" }));
  const kv = await Deno.openKv(":memory:");
  const store = new DenoKvStore(kv);
  const queue = new FlakyQueue();
  const options: AppOptions = {
    agents: helperAgents(model),
    store,
    queue,
    lockTtlMs: LOCK_TTL_MS,
    retryDelayMs: 5,
    apiKeys: [API_KEY],
    // A follow that finds nothing moving ends soon (a "still running" result) instead of waiting for the run's expiry.
    events: { pollMs: 20, maxReads: 40 },
    plugins: [mcpServer()],
  };
  const smolstep = createSmolstep(options);
  queue.listen(smolstep.handleQueueMessage);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  const { client } = await connect(`http://127.0.0.1:${server.addr.port}`, { Authorization: `Bearer ${API_KEY}` });
  const call = async () =>
    await client.callTool(
      { name: "helper", arguments: TASK, _meta: { [IDEMPOTENCY_KEY_META]: "never-started" } },
      undefined,
      { timeout: 10_000 },
    ) as CallToolResult;
  try {
    await test({ store, queue, agent: options.agents.helper as ToolCallingAgent, call });
  } finally {
    await client.close();
    await queue.idle();
    queue.close();
    await server.shutdown();
    kv.close();
  }
}

Deno.test("MCP idempotency: a keyed call whose run's first step the queue refused is answered by a run that steps", async () => {
  await withApp(async ({ queue, call }) => {
    queue.refuseNext = true;
    const failed = await call();
    assert.equal(failed.isError, true, JSON.stringify(failed));
    assert.match(JSON.stringify(failed.content), /the queue is down/);
    const again = await call();
    assert.deepEqual(again.content, [{ type: "text", text: "42" }], JSON.stringify(again));
    assert.equal(again._meta?.["smolstep/status"], "succeeded");
  });
});

Deno.test("MCP idempotency: a keyed call whose run was named but never queued (a process gone) starts it", async () => {
  await withApp(async ({ store, agent, call }) => {
    // What a process that died between naming the call's run and queueing its first step leaves: the claim
    // completed with a background run still at its first step, unlocked.
    const runs = new RunService(store, { lockTtlMs: LOCK_TTL_MS });
    const replay = callReplay("helper", TASK, { [IDEMPOTENCY_KEY_META]: "never-started" }, {
      authorization: `Bearer ${API_KEY}`,
    });
    assert.ok(replay && typeof replay !== "string");
    const claim = await claimRequest(runs, "helper", replay);
    assert.equal(claim.status, "claimed");
    const record = await runs.create("helper", agent.start(TASK.task), { background: true });
    if (claim.status === "claimed") await claim.complete(record.runId);
    await new Promise((resolve) => setTimeout(resolve, LOCK_TTL_MS + 50));

    const again = await call();
    assert.deepEqual(again.content, [{ type: "text", text: "42" }], JSON.stringify(again));
    assert.equal(again._meta?.[RUN_ID_META], record.runId, "the run the key names, started");
  });
});
