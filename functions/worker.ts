/**
 * Cloudflare Workers entry: the example agents over HTTP, runs kept in Workers KV (binding `RUNS`).
 * Vars and secrets (OPENAI_API_KEY, SMOLSTEP_SECRET, ...) come from `env`, so the app is built on first request.
 */
import type { Hono } from "hono";
// Workers cannot compile WASM from bytes: the sandbox's .wasm is imported as a module (wrangler CompiledWasm rule).
// @ts-types="../lib/executors/quickjs_wasm_module.d.ts"
import quickjsWasm from "../node_modules/@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm";
import { CloudflareKvStore, createApp, QuickJSExecutor, type WorkersKvNamespace } from "../lib/mod.ts";
import { type AgentEnv, createAgents } from "./agents.ts";
import { type ServerEnv, serverOptions } from "./server_options.ts";

interface WorkerEnv extends AgentEnv, ServerEnv {
  RUNS: WorkersKvNamespace;
}

let app: Hono | undefined;

export default {
  fetch(request: Request, env: WorkerEnv, ctx: unknown): Response | Promise<Response> {
    app ??= createApp({
      // Deployed Workers freeze the clock while code runs: the interrupt budget bounds tight loops (see QuickJSExecutor).
      agents: createAgents(env, { executor: new QuickJSExecutor({ wasm: quickjsWasm, maxInterruptChecks: 40_000 }) }),
      store: new CloudflareKvStore(env.RUNS),
      ...serverOptions(env),
    });
    return app.fetch(request, env, ctx as never);
  },
};
