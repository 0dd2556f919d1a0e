/**
 * KV-mode steps per second over Deno KV on disk: closed-loop clients step runs over loopback HTTP (the real app,
 * `Deno.serve`), each run 10 steps (9 tool calls and the answer) before the client starts another. The model is
 * an in-process function that answers after `MODEL_DELAY_MS` (0 by default: what is measured is the framework and
 * the store), so the figures compare store paths, not models. The Deno KV handle is wrapped in the counting
 * proxy from tests/support/round_trip_counter.ts, which also gives the reads and commits per step (run creation
 * included: one commit per 10 steps).
 *
 *   deno run -A --unstable-kv bench/kv_step_throughput.ts                  # levels 1, 10, 50 clients, 5 s each
 *   CLIENTS=50 SECONDS=10 MODEL_DELAY_MS=50 deno run -A --unstable-kv bench/kv_step_throughput.ts
 *   KV_DELAY_MS=2 deno run -A --unstable-kv bench/kv_step_throughput.ts   # each read and commit 2 ms later,
 *                                                                          # as over a network (Deno Deploy)
 *
 * It prints one line per level: clients, steps/s, p50 / p99 step latency, CPU time of this process (clients,
 * server and Deno KV's SQLite thread together) per step, and KV reads and commits per step. On a shared machine
 * steps/s swings with the load; CPU per step much less, so compare that first.
 */

import { cpuUsage } from "node:process";
import { ToolCallingAgent } from "../lib/mod.ts";
import { createApp } from "../lib/server.ts";
import { DenoKvStore } from "../lib/adapters/deno/deno_kv_store.ts";
import { echoTool } from "../tests/support/approval_tools.ts";
import { countingDenoKv } from "../tests/support/round_trip_counter.ts";

const levels = (Deno.env.get("CLIENTS") ?? "1,10,50").split(",").map(Number);
const seconds = Number(Deno.env.get("SECONDS") ?? 5);
const modelDelayMs = Number(Deno.env.get("MODEL_DELAY_MS") ?? 0);
const STEPS_PER_RUN = 10;

const dir = await Deno.makeTempDir({ prefix: "smolstep-kv-bench-" });
const real = await Deno.openKv(`${dir}/kv.sqlite3`);
const { kv, trips } = countingDenoKv(real, { delayMs: Number(Deno.env.get("KV_DELAY_MS") ?? 0) });
/** Nine echo calls, then the final answer: decided from how many tool results the run already has. */
const agent = new ToolCallingAgent({
  name: "bench",
  tools: [echoTool],
  maxSteps: STEPS_PER_RUN + 2,
  model: async (messages) => {
    if (modelDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, modelDelayMs));
    const done = messages.filter((message) => message.role === "tool-response").length >= STEPS_PER_RUN - 1;
    const call = done
      ? { name: "final_answer", arguments: { answer: "done" } }
      : { name: "echo", arguments: { text: "x" } };
    return { content: null, toolCalls: [{ id: crypto.randomUUID(), type: "function", function: call }] };
  },
});
const app = createApp({ agents: { bench: agent }, store: new DenoKvStore(kv) });
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
const base = `http://127.0.0.1:${server.addr.port}`;

async function post(path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/** One closed-loop client until `until`: latency of every step it made. */
async function client(until: number, latencies: number[]): Promise<void> {
  while (Date.now() < until) {
    const { runId } = await post("/v1/agents/bench/runs", { task: "count" });
    for (let status = "running"; status === "running" && Date.now() < until;) {
      const start = performance.now();
      status = (await post(`/v1/runs/${runId}/steps`)).status as string;
      latencies.push(performance.now() - start);
    }
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

try {
  await Promise.all(Array.from({ length: 4 }, () => client(Date.now() + 1_000, []))); // warm-up
  for (const clients of levels) {
    const latencies: number[] = [];
    trips.take();
    const cpu = cpuUsage();
    const started = performance.now();
    await Promise.all(Array.from({ length: clients }, () => client(Date.now() + seconds * 1_000, latencies)));
    const elapsed = (performance.now() - started) / 1_000;
    const { reads, writes } = trips.take();
    const { user, system } = cpuUsage(cpu);
    const sorted = latencies.sort((a, b) => a - b);
    console.log(
      `clients=${clients} steps/s=${(latencies.length / elapsed).toFixed(0)} ` +
        `p50=${percentile(sorted, 0.5).toFixed(1)}ms p99=${percentile(sorted, 0.99).toFixed(1)}ms ` +
        `cpu/step=${((user + system) / 1_000 / latencies.length).toFixed(2)}ms ` +
        `kv reads/step=${(reads / latencies.length).toFixed(2)} commits/step=${(writes / latencies.length).toFixed(2)}`,
    );
  }
} finally {
  await server.shutdown();
  real.close();
  await Deno.remove(dir, { recursive: true });
}
