/**
 * `POST /v1/chat/completions` wall time for a run of `--steps` steps, the three ways a run can be taken, side by
 * side in one process on loopback (in-memory store, the scripted model answering after `--latency` ms):
 *
 * - `kv steps`: the client steps the run itself, `POST /v1/agents/{name}/runs` then `POST /v1/runs/{id}/steps`
 *   until it ends (the baseline: no following);
 * - `chat inline`: a chat completion on an app without a queue (the request steps the run);
 * - `chat background`: a chat completion on an app with the in-process queue (the request follows the run, reading
 *   it every `events.pollMs`, `--poll` ms, and hearing its deltas).
 *
 *   deno run -A --unstable-kv bench/chat_completion_bench.ts [--runs 10] [--steps 4] [--latency 50] [--poll 500]
 *
 * Figures on a shared machine are noisy: compare the rows of one run only.
 */
import OpenAI from "openai";
import { calculatorTool, OpenAIServerModel, ToolCallingAgent } from "../lib/mod.ts";
import { createSmolstep, InProcessQueue, MemoryStore } from "../lib/server.ts";
import { apiClient } from "../tests/support/http_client.ts";
import { calculatorRunReply } from "../tests/support/run_scenarios.ts";
import { startScriptedModelServer } from "../tests/support/scripted_model_server.ts";

const arg = (name: string, fallback: number) => {
  const index = Deno.args.indexOf(`--${name}`);
  return index >= 0 ? Number(Deno.args[index + 1]) : fallback;
};
const [runs, steps, latencyMs, pollMs] = [arg("runs", 10), arg("steps", 4), arg("latency", 50), arg("poll", 500)];

const model = await startScriptedModelServer({
  replies: async (request) => {
    await new Promise((resolve) => setTimeout(resolve, latencyMs));
    return calculatorRunReply(request, steps - 1);
  },
});
const agentModel = new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 });
const agents = () => ({
  assistant: new ToolCallingAgent({ name: "assistant", model: agentModel, tools: [calculatorTool] }),
});

function serve(queue?: InProcessQueue) {
  const smolstep = createSmolstep({ agents: agents(), store: new MemoryStore(), queue, events: { pollMs } });
  queue?.listen(smolstep.handleQueueMessage);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

const messages = [{ role: "user" as const, content: "count" }];
async function timed(run: () => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return times;
}

const inline = serve();
const queue = new InProcessQueue();
const background = serve(queue);
try {
  const api = apiClient(inline.url);
  const rows: Array<[string, number[]]> = [
    [
      "kv steps",
      await timed(async () => {
        const { body } = await api.post("/v1/agents/assistant/runs", { task: "count" });
        for (let status = "running"; status === "running";) {
          status = (await api.post(`/v1/runs/${body.runId}/steps`)).body.status;
        }
      }),
    ],
    [
      "chat inline",
      await timed(async () => {
        const client = new OpenAI({ baseURL: `${inline.url}/v1`, apiKey: "k", maxRetries: 0 });
        await client.chat.completions.create({ model: "assistant", messages });
      }),
    ],
    [
      "chat background",
      await timed(async () => {
        const client = new OpenAI({ baseURL: `${background.url}/v1`, apiKey: "k", maxRetries: 0 });
        await client.chat.completions.create({ model: "assistant", messages });
      }),
    ],
  ];
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`${runs} runs of ${steps} steps, model latency ${latencyMs} ms, pollMs ${pollMs}`);
  for (const [name, times] of rows) {
    console.log(`${name.padEnd(16)} median ${median(times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms`);
  }
} finally {
  await inline.close();
  // Drops the scheduled watchdog copies first: idle() would wait for them, a lock's time (5 minutes) after the last run.
  queue.close();
  await queue.idle();
  await background.close();
  await model.close();
}
