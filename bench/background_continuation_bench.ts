/**
 * Background-run continuation delay, Deno entry against Workers entry, seen from a client: how long a background
 * run of a few steps takes from `POST /v1/agents/assistant/runs {"background": true}` until `GET /v1/runs/{id}`
 * reads it finished, and how long each step waits for the previous one (the queue's continuation delay).
 *
 *   deno run -A --unstable-kv bench/background_continuation_bench.ts [--runs 5] [--steps 4] [--latency 150]
 *     [--entry both|deno|workers] [--config wrangler.toml] [--concurrent 1]
 *
 * Set-up: the scripted OpenAI-compatible model server answers every call after `--latency` ms (the calculator
 * `steps - 1` times, then final_answer). The Deno entry is `functions/deno.ts` in its own process with an in-memory
 * Deno KV (KV store, KV queue); the Workers entry is `functions/worker.ts` under `wrangler dev --local` with the
 * given wrangler config (Durable Object store, Cloudflare Queue as miniflare runs it). Runs go one after another
 * (`--concurrent N`: rounds of N runs started at once); the client polls each run every 20 ms.
 *
 * Per-step gap: the next action step's `timing.startTime` minus the previous one's `timing.endTime` (both from the
 * server's clock), i.e. commit + enqueue + queue delivery + the next step's read and lock.
 */
import { calculatorRunReply } from "../tests/support/run_scenarios.ts";
import { apiClient } from "../tests/support/http_client.ts";
import { startDenoEntry } from "../tests/support/deno_entry.ts";
import { startScriptedModelServer } from "../tests/support/scripted_model_server.ts";
import { startWranglerDev } from "../tests/support/wrangler_dev.ts";

interface Options {
  runs: number;
  steps: number;
  latencyMs: number;
  entry: "both" | "deno" | "workers";
  config: string;
  concurrent: number;
}

function parseOptions(args: string[]): Options {
  const value = (name: string) => {
    const index = args.indexOf(`--${name}`);
    return index >= 0 ? args[index + 1] : undefined;
  };
  const entry = value("entry") ?? "both";
  if (entry !== "both" && entry !== "deno" && entry !== "workers") throw new Error(`--entry ${entry}?`);
  return {
    runs: Number(value("runs") ?? 5),
    steps: Number(value("steps") ?? 4),
    latencyMs: Number(value("latency") ?? 150),
    entry,
    config: value("config") ?? "wrangler.toml",
    concurrent: Number(value("concurrent") ?? 1),
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)];
};

interface Timing {
  startTime: number;
  endTime: number;
}

/** One background run, from the create request until a read sees it ended; wall time and its step gaps in ms. */
async function oneRun(api: ReturnType<typeof apiClient>, options: Options, task: string) {
  const start = performance.now();
  const created = await api.post("/v1/agents/assistant/runs", { task, background: true });
  if (created.status !== 202 && created.status !== 201) throw new Error(JSON.stringify(created.body));
  const runId = created.body.runId as string;
  for (;;) {
    const run = await api.get(`/v1/runs/${runId}`);
    if (run.body.status !== "running") {
      const wall = performance.now() - start;
      if (run.body.status !== "succeeded") throw new Error(`run ${runId}: ${JSON.stringify(run.body)}`);
      const actions = (run.body.steps as Array<{ type: string; timing?: Timing }>)
        .filter((step) => step.type === "action" && step.timing);
      if (actions.length !== options.steps) {
        throw new Error(`${actions.length} action steps, not ${options.steps}: ${JSON.stringify(run.body.steps)}`);
      }
      const gaps = actions.slice(1).map((action, k) => action.timing!.startTime - actions[k].timing!.endTime);
      return { wall, gaps };
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** `runs` rounds of `concurrent` background runs started at once against `url`; wall times and step gaps in ms. */
async function measure(url: string, options: Options) {
  const api = apiClient(url);
  const walls: number[] = [];
  const gaps: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    const round = Array.from({ length: options.concurrent }, (_, j) => oneRun(api, options, `bench ${i}.${j}`));
    for (const run of await Promise.all(round)) {
      walls.push(run.wall);
      gaps.push(...run.gaps);
    }
  }
  return { walls, gaps };
}

function report(name: string, options: Options, { walls, gaps }: { walls: number[]; gaps: number[] }) {
  const floor = options.steps * options.latencyMs;
  console.log(
    `${name.padEnd(8)} ${options.steps}-step run${
      options.concurrent > 1 ? ` (${options.concurrent} at once)` : ""
    }: median ${median(walls).toFixed(0)} ms wall ` +
      `(model time ${floor} ms; max ${Math.max(...walls).toFixed(0)} ms); ` +
      `gap between steps: median ${median(gaps).toFixed(0)} ms, max ${Math.max(...gaps).toFixed(0)} ms`,
  );
}

const options = parseOptions(Deno.args);
const model = await startScriptedModelServer({
  replies: (request) => ({ ...calculatorRunReply(request, options.steps), delayMs: options.latencyMs }),
});
const env = { OPENAI_BASE_URL: model.url, OPENAI_API_KEY: "k", SMOLSTEP_SECRET: "bench-secret-0123456789abcdef" };
try {
  if (options.entry !== "workers") {
    const deno = await startDenoEntry({ ...env, SMOLSTEP_KV_PATH: ":memory:" });
    try {
      await measure(deno.url, { ...options, runs: 1 }); // warm-up
      report("deno", options, await measure(deno.url, options));
    } finally {
      await deno.kill();
    }
  }
  if (options.entry !== "deno") {
    const worker = await startWranglerDev({ config: options.config, readyPath: "/health", vars: env });
    try {
      await measure(worker.url, { ...options, runs: 1 }); // warm-up
      report("workers", options, await measure(worker.url, options));
    } catch (error) {
      console.error(worker.logs());
      throw error;
    } finally {
      await worker.close();
    }
  }
} finally {
  await model.close();
}
