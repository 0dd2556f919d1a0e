/**
 * CPU per stateless step without the noise of a load test: functions/deno.ts's app (the example agents, Deno KV,
 * node:crypto token cipher, JSON request logs, metrics, tracing hooks) called in process through `app.fetch` by
 * closed-loop clients, against the load test's scripted model in its own process (no delay). Prints this process's
 * CPU time (all threads: main, KV's sqlite thread, GC) per step and steps per second, for each of `--rounds`.
 *
 *   deno run -A --unstable-kv bench/stateless_step_cpu.ts [--clients=10] [--seconds=5] [--rounds=3] > /dev/null
 *
 * The request logs go to stdout (redirect it); the figures go to stderr. Compare two branches on the same machine,
 * one after the other, several rounds each: the figures move with the machine's other load.
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { createSmolstep } from "../lib/server.ts";
import { DenoKvStore } from "../lib/adapters/deno/deno_kv_store.ts";
import { nodeTokenCipher } from "../lib/adapters/deno/node_token_cipher.ts";
import { createBufferedJsonSink } from "../lib/adapters/deno/buffered_json_sink.ts";
import { createAgents } from "../functions/agents.ts";
import { loggerFromEnv, serverOptions } from "../functions/server_options.ts";
import { startServer } from "./load/processes.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    clients: { type: "string", default: "10" },
    seconds: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
  },
});
const clients = Number(values.clients);
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);

const model = await startServer<{ modelUrl: string }>("model server", [
  "-A",
  new URL("./load/model_server.ts", import.meta.url).pathname,
  "--delay-ms=0",
]);
const scratch = await Deno.makeTempDir({ prefix: "smolstep-step-cpu-" });
const kv = await Deno.openKv(`${scratch}/runs.sqlite3`);
const logs = createBufferedJsonSink({ flushDelayMs: 20 }); // as functions/deno.ts
const env: Record<string, string | undefined> = {
  OPENAI_BASE_URL: model.ready.modelUrl,
  OPENAI_API_KEY: "k",
  SMOLSTEP_MODEL: "scripted",
};
const agents = createAgents(env);
const smolstep = createSmolstep({
  agents,
  store: new DenoKvStore(kv),
  ...serverOptions(env, Object.keys(agents)),
  logger: loggerFromEnv(env, logs.sink),
  secret: "step-cpu-bench-secret-0123456789",
  stateTokenCipher: nodeTokenCipher,
});

async function post(path: string, body: unknown): Promise<{ state: string; status: string }> {
  const text = JSON.stringify(body);
  // With its Content-Length, as over HTTP (the body limit reads a body without one through a stream).
  const headers = {
    "content-type": "application/json",
    "content-length": String(new TextEncoder().encode(text).length),
  };
  const response = await smolstep.app.fetch(
    new Request(`http://bench${path}`, { method: "POST", headers, body: text }),
  );
  const answer = await response.json();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** One client: whole stateless runs until `until`; returns the steps it made. */
async function client(until: number): Promise<number> {
  let steps = 0;
  while (Date.now() < until) {
    let answer = await post("/v1/agents/assistant/runs", { task: "What is 6 times 7?", stateless: true });
    do {
      answer = await post("/v1/agents/assistant/steps", { state: answer.state });
      steps++;
    } while (answer.status === "running");
  }
  return steps;
}

try {
  await client(Date.now() + 1_000); // warm-up: JIT, connections, the KV file
  for (let round = 1; round <= rounds; round++) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const counts = await Promise.all(Array.from({ length: clients }, () => client(Date.now() + seconds * 1000)));
    const elapsed = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const steps = counts.reduce((a, b) => a + b, 0);
    console.error(
      `round ${round}: ${steps} steps, ${(steps / elapsed * 1000).toFixed(0)} steps/s, ` +
        `CPU ${((used.user + used.system) / 1000 / steps).toFixed(3)} ms/step`,
    );
  }
} finally {
  await logs.flush();
  kv.close();
  await model.process.stop();
  await Deno.remove(scratch, { recursive: true }).catch(() => {});
}
