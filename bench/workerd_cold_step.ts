/**
 * Cold versus warm CodeAgent step on workerd: starts `wrangler dev` with the Workers entry, then times the first
 * sandboxed step (fresh isolate: WASM instantiation, app construction) and the following ones.
 *
 *   deno run -A --unstable-kv bench/workerd_cold_step.ts
 */
import { apiClient } from "../tests/support/http_client.ts";
import { startScriptedModelServer } from "../tests/support/scripted_model_server.ts";
import { startWranglerDev } from "../tests/support/wrangler_dev.ts";

const ROUNDS = 5;
const model = await startScriptedModelServer({
  replies: () => "<code>\nconst n = await calculator({ expression: '6 * 7' });\nn\n</code>",
});
const worker = await startWranglerDev({
  config: "wrangler.toml",
  readyPath: "/health",
  vars: { OPENAI_BASE_URL: model.url, OPENAI_API_KEY: "k", SMOLSTEP_SECRET: "bench-secret-0123456789abcdef" },
});
try {
  const api = apiClient(worker.url);
  const timings: number[] = [];
  let token = (await api.post("/v1/agents/coder/runs", { task: "x", stateless: true })).body.state;
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    const step = await api.post("/v1/agents/coder/steps", { state: token });
    timings.push(performance.now() - start);
    if (step.status !== 200) throw new Error(JSON.stringify(step.body));
    token = step.body.state;
  }
  console.log(`wrangler dev ready after ${worker.startupMs.toFixed(0)} ms`);
  console.log(`first CodeAgent step (cold sandbox): ${timings[0].toFixed(1)} ms`);
  const warm = timings.slice(1);
  console.log(`next ${warm.length} steps: ${warm.map((t) => t.toFixed(1)).join(", ")} ms`);
} finally {
  await worker.close();
  await model.close();
}
