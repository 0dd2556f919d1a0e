/**
 * Bounded soak of the run lifecycle: does a Deno KV file stop growing once runs expire?
 *
 *   deno run -A --unstable-kv bench/run_lifecycle_soak.ts            # 75 s, runs kept 10 s
 *   SOAK_SECONDS=60 SOAK_TTL_SECONDS=10 SOAK_CLIENTS=8 deno run -A --unstable-kv bench/run_lifecycle_soak.ts
 *   SOAK_TTL_SECONDS=604800 deno run -A --unstable-kv bench/run_lifecycle_soak.ts   # the default TTL: a baseline
 *
 * Closed-loop clients create KV runs and step them to their end through the app (`app.fetch`, in process) against
 * the scripted model server on loopback, with Deno KV on a temporary file. Each run takes three steps: two tool
 * calls whose long observations (unique per run, ~9 KB each) go to the run's blobs, then the final answer. Runs
 * are kept `SOAK_TTL_SECONDS` after they finish (`runTtlSeconds`, also the idle limit). Every 5 s it prints the
 * runs finished, the KV file size (database + WAL), and the keys Deno KV still lists (expired ones included until
 * Deno KV deletes them; DenoKvStore already reads them as missing).
 *
 * What bounds the file. Deno KV's SQLite backend (denokv `sqlite/lib.rs`) deletes expired keys in the background:
 * once when the database is opened, then at the earliest expiry it found, and at least every 60 s (+ up to 1 s of
 * jitter). Opened empty, its first sweep comes ~60 s in; after that it follows the expiries. SQLite reuses the
 * freed pages (it never shrinks the file without VACUUM), so the file levels off near the most data ever live at
 * once: write rate x (TTL + the sweep delay), ~60 s of writes in a short soak, write rate x TTL later on.
 *
 * Measured (2 shared cores, 8 clients, 3 steps and 2 blobs of ~9 KB per run, 90 s):
 *   SOAK_TTL_SECONDS=10:     39.7 MB at 61 s (1,741 runs), 39.8 MB at 91 s (2,690 runs); keys listed 4,513 -> 2,893
 *   SOAK_TTL_SECONDS=604800: linear, 22.2 MB at 50 s, 48.9 MB at 91 s (2,149 runs, ~23 KB a run)
 */
import { z } from "zod";
import { OpenAIServerModel, tool, ToolCallingAgent } from "../lib/mod.ts";
import { createApp } from "../lib/server.ts";
import { DenoKvStore } from "../lib/adapters/deno/deno_kv_store.ts";
import { type ReceivedRequest, startScriptedModelServer } from "../tests/support/scripted_model_server.ts";

const SECONDS = Number(Deno.env.get("SOAK_SECONDS") ?? 75);
const TTL_SECONDS = Number(Deno.env.get("SOAK_TTL_SECONDS") ?? 10);
const CLIENTS = Number(Deno.env.get("SOAK_CLIENTS") ?? 8);
const REPORT_EVERY_MS = 5_000;

/** Two page reads, then the answer: decided from how many earlier replies the request carries. */
function reply(request: ReceivedRequest) {
  const read = (request.body.messages ?? []).filter((m) => m.role === "assistant").length;
  return read < 2
    ? { toolCalls: [{ name: "read_page", arguments: { page: read + 1 } }] }
    : { toolCalls: [{ name: "final_answer", arguments: { answer: "read" } }] };
}

const model = await startScriptedModelServer({ replies: reply });
const readPage = tool({
  name: "read_page",
  description: "Returns a long page.",
  inputs: z.object({ page: z.number().int() }),
  // Unique per call, so blobs never dedupe across runs: the worst case for the store.
  run: ({ page }) =>
    `Page ${page} (${crypto.randomUUID()}): ${"All work and no play makes Jack a dull boy. ".repeat(200)}`,
});
const agent = new ToolCallingAgent({
  name: "reader",
  model: new OpenAIServerModel({ modelId: "scripted", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
  tools: [readPage],
  maxSteps: 5,
});

const dir = await Deno.makeTempDir({ prefix: "smolstep-soak-" });
const path = `${dir}/kv.sqlite3`;
const kv = await Deno.openKv(path);
const app = createApp({
  agents: { reader: agent },
  store: new DenoKvStore(kv),
  runTtlSeconds: TTL_SECONDS,
  idleRunTtlSeconds: TTL_SECONDS,
});

const post = async (url: string, body?: unknown) => {
  const response = await app.request(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return await response.json();
};

let finished = 0;
let steps = 0;
const deadline = Date.now() + SECONDS * 1000;
async function client() {
  while (Date.now() < deadline) {
    const { runId } = await post("/v1/agents/reader/runs", { task: "Read two pages." });
    let status = "running";
    while (status === "running") {
      status = (await post(`/v1/runs/${runId}/steps`)).status;
      steps++;
    }
    if (status !== "succeeded") throw new Error(`run ended ${status}`);
    finished++;
  }
}

const fileBytes = async (file: string) => (await Deno.stat(file).catch(() => ({ size: 0 }))).size;
const mb = (bytes: number) => (bytes / 1_048_576).toFixed(1);
async function report(started: number) {
  const [db, wal] = [await fileBytes(path), await fileBytes(`${path}-wal`)];
  let keys = 0;
  for await (const _ of kv.list({ prefix: [] })) keys++;
  const t = ((Date.now() - started) / 1000).toFixed(0).padStart(3);
  console.log(
    `t=${t}s  runs=${String(finished).padStart(6)}  steps=${String(steps).padStart(6)}  ` +
      `kv file=${mb(db).padStart(6)} MB  wal=${mb(wal).padStart(5)} MB  keys listed=${keys}`,
  );
}

console.log(`soak: ${SECONDS} s, ${CLIENTS} clients, runs kept ${TTL_SECONDS} s, Deno KV at ${path}`);
const started = Date.now();
const timer = setInterval(() => void report(started), REPORT_EVERY_MS);
try {
  await Promise.all(Array.from({ length: CLIENTS }, client));
  await report(started);
  console.log(`${finished} runs (${steps} steps) in ${SECONDS} s: ${(steps / SECONDS).toFixed(0)} steps/s`);
} finally {
  clearInterval(timer);
  kv.close();
  await model.close();
  await Deno.remove(dir, { recursive: true });
}
