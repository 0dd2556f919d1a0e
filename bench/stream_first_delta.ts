/**
 * Time to first delta: a streamed stateless step through the HTTP app (`Accept: text/event-stream`, served with
 * `Deno.serve` on loopback) until its first `event: delta` arrives, against the scripted model server's own first
 * byte for the same streamed completion request. The difference is what smolstep adds before the first token (token
 * open and claim, memory rendering, the model request, the SSE relay).
 *
 *   deno run -A --unstable-kv bench/stream_first_delta.ts [iterations=200]
 */
import { OpenAIServerModel, ToolCallingAgent } from "../lib/mod.ts";
import { createApp, MemoryStore } from "../lib/server.ts";
import { startScriptedModelServer } from "../tests/support/scripted_model_server.ts";

const ITERATIONS = Number(Deno.args[0] ?? 200);
const REPLY = {
  content: "Thinking about it. ".repeat(10),
  toolCalls: [{ name: "final_answer", arguments: { answer: 1 } }],
};

await using model = await startScriptedModelServer({ replies: () => REPLY });
const openai = new OpenAIServerModel({ modelId: "scripted", apiBase: model.url, apiKey: "k", maxRetries: 0 });
const agent = new ToolCallingAgent({ name: "bench", model: openai });
const app = createApp({ agents: { bench: agent }, store: new MemoryStore(), secret: "bench-secret-0123456789" });
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
const base = `http://127.0.0.1:${server.addr.port}`;

/** Milliseconds from sending the request until the first body chunk that contains `marker`. */
async function firstChunk(url: string, init: RequestInit, marker: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, init);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  let at = NaN;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    seen += decoder.decode(read.value, { stream: true });
    if (Number.isNaN(at) && seen.includes(marker)) at = performance.now() - started;
  }
  return at;
}

const direct: number[] = [];
const through: number[] = [];
for (let i = 0; i < ITERATIONS; i++) {
  // What the agent sends for this step, captured from the last streamed step (the first round uses a minimal body).
  const body = model.lastRequest?.body ?? { model: "scripted", messages: [{ role: "user", content: "x" }] };
  direct.push(
    await firstChunk(`${model.url}/chat/completions`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer k" },
      body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
    }, "data: "),
  );
  const created = await (await fetch(`${base}/v1/agents/bench/runs`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ task: "Say something.", stateless: true }),
  })).json();
  through.push(
    await firstChunk(`${base}/v1/agents/bench/steps`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ state: created.state }),
    }, "event: delta"),
  );
}
await server.shutdown();

const stats = (values: number[]) => {
  const sorted = values.slice(ITERATIONS >= 20 ? 10 : 0).sort((a, b) => a - b); // first 10: warm-up
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(2);
  return `median ${at(0.5)} ms, p95 ${at(0.95)} ms`;
};
console.log(`iterations: ${ITERATIONS} (first 10 dropped as warm-up)`);
console.log(`model server, first byte of the streamed completion:  ${stats(direct)}`);
console.log(`smolstep SSE step, first delta event:                 ${stats(through)}`);
const overhead = through.map((t, i) => t - direct[i]);
console.log(`overhead (paired per iteration):                      ${stats(overhead)}`);
