/**
 * How large a run may grow in each store: the largest record and task accepted, and how much a step adds to the
 * record (typical, worst case under the by-reference threshold, and with huge replies).
 *
 *   deno run -A --unstable-kv bench/state_size_bench.ts
 *
 * Workers KV and Durable Objects are not started here (they need `wrangler dev`): their ceiling (25 MiB) is the
 * one their conformance suites prove with a value of exactly `maxValueBytes` (tests/stores/*_store_test.ts).
 */

import { z } from "zod";
import { createDenoQuickJSExecutor } from "../lib/adapters/deno/quickjs_wasm_deno.ts";
import { CodeAgent, type MultiStepAgent, tool, ToolCallingAgent } from "../lib/mod.ts";
import { MemoryStore } from "../lib/server.ts";
import { RunError } from "../lib/runs/run_record.ts";
import { RunService } from "../lib/runs/run_service.ts";
import type { ChatMessage } from "../lib/models/chat_message.ts";
import { DENO_KV_MAX_VALUE_BYTES, DenoKvStore } from "../lib/adapters/deno/deno_kv_store.ts";
import { CloudflareKvStore, type WorkersKvNamespace } from "../lib/adapters/cloudflare/cloudflare_kv_store.ts";
import { DurableObjectStore } from "../lib/adapters/cloudflare/durable_object_store.ts";
import type { StateStore } from "../lib/stores/state_store.ts";

const encoder = new TextEncoder();

/** Largest task (ASCII characters) `create` accepts, by bisection. */
async function largestTask(runs: RunService, agent: MultiStepAgent): Promise<number> {
  let [low, high] = [0, runs.store.maxValueBytes];
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    try {
      await runs.create(agent.name, agent.start("t".repeat(mid)));
      low = mid;
    } catch (error) {
      if (!(error instanceof RunError) || error.code !== "task_too_large") throw error;
      high = mid - 1;
    }
  }
  return low;
}

async function recordBytes(store: StateStore, runId: string): Promise<number> {
  return encoder.encode((await store.get(`runs/${runId}`))!.value).length;
}

/** Steps `agent` `steps` times and returns the record size after each step. */
async function growth(runs: RunService, agent: MultiStepAgent, steps: number): Promise<number[]> {
  const { runId } = await runs.create(agent.name, agent.start("Measure the record."));
  const sizes = [await recordBytes(runs.store, runId)];
  for (let i = 0; i < steps; i++) {
    await runs.step(runId, agent);
    sizes.push(await recordBytes(runs.store, runId));
  }
  return sizes;
}

const echoTool = tool({
  name: "echo",
  description: "Returns its text.",
  inputs: z.object({ text: z.string() }),
  run: ({ text }) => text,
});

/** A ToolCallingAgent whose replies carry `chars` characters of content and of arguments, echoed back. */
function toolAgent(chars: number): ToolCallingAgent {
  return new ToolCallingAgent({
    name: `tools_${chars}`,
    model: (_messages: ChatMessage[]) => ({
      content: "c".repeat(chars),
      toolCalls: [{
        id: crypto.randomUUID(),
        type: "function" as const,
        function: { name: "echo", arguments: { text: "a".repeat(chars) } },
      }],
    }),
    tools: [echoTool],
    maxSteps: 1_000,
  });
}

const executor = createDenoQuickJSExecutor();

/** A CodeAgent whose replies are `chars` characters, nearly all of it code that prints as much. */
function codeAgent(chars: number): CodeAgent {
  return new CodeAgent({
    name: `code_${chars}`,
    model: () => ({
      role: "assistant",
      content: `<code>\nconsole.log("${"p".repeat(Math.max(0, chars - 40))}");\n</code>`,
    }),
    executor,
    maxSteps: 1_000,
    maxObservationChars: 1_000_000,
  });
}

const stores: Array<[string, () => Promise<{ store: StateStore; close(): void }>]> = [
  ["MemoryStore (default caps)", () => Promise.resolve({ store: new MemoryStore(), close() {} })],
  ["DenoKvStore (:memory:)", async () => {
    const kv = await Deno.openKv(":memory:");
    return { store: new DenoKvStore(kv), close: () => kv.close() };
  }],
];

const fmt = (n: number) => n.toLocaleString("en-US");
const perStep = (sizes: number[]) => Math.round((sizes.at(-1)! - sizes[1]) / (sizes.length - 2));

console.log(`Declared ceilings (maxValueBytes): ${
  [
    ["MemoryStore", new MemoryStore().maxValueBytes],
    ["DenoKvStore", DENO_KV_MAX_VALUE_BYTES],
    ["CloudflareKvStore", new CloudflareKvStore({} as WorkersKvNamespace).maxValueBytes],
    ["DurableObjectStore", new DurableObjectStore({ idFromName: () => 0, get: () => ({ fetch }) }).maxValueBytes],
  ].map(([name, bytes]) => `${name} ${fmt(bytes as number)}`).join(", ")
}`);

for (const [name, open] of stores) {
  const { store, close } = await open();
  try {
    const runs = new RunService(store);
    console.log(`\n${name}: maxValueBytes ${fmt(store.maxValueBytes)}, largest run record ${fmt(runs.maxRecordBytes)}`);
    const task = await largestTask(runs, toolAgent(0));
    console.log(`  largest task accepted: ${fmt(task)} characters (413 task_too_large above)`);
    for (
      const [label, agent, steps] of [
        ["ToolCallingAgent, 100-char replies", toolAgent(100), 20],
        ["ToolCallingAgent, 3,999-char reply + arguments + observation (worst case kept inline)", toolAgent(3_999), 20],
        ["ToolCallingAgent, 300,000-char reply + arguments + observation (blobs)", toolAgent(300_000), 5],
        ["ToolCallingAgent, 900,000-char reply + arguments + observation (cut with a marker)", toolAgent(900_000), 5],
        ["CodeAgent, 3,999-char replies (code kept inline 3 times)", codeAgent(3_999), 20],
      ] as const
    ) {
      const sizes = await growth(runs, agent, steps);
      const growthBytes = perStep(sizes);
      const fit = Math.floor((runs.maxRecordBytes - sizes[0]) / growthBytes);
      console.log(
        `  ${label}: record ${fmt(sizes[0])} B at creation, ${fmt(sizes[1])} B after step 1, +${
          fmt(growthBytes)
        } B per further step -> ~${fmt(fit)} such steps fit`,
      );
    }
  } finally {
    close();
  }
}
