/**
 * Cloudflare Workers entry: the example agents over HTTP, runs kept in Workers KV (binding `RUNS`).
 * Vars and secrets (OPENAI_API_KEY, SMOLSTEP_SECRET, ...) come from `env`, so the app is built on first request.
 */
import type { Hono } from "hono";
import { CloudflareKvStore, createApp, type WorkersKvNamespace } from "../lib/mod.ts";
import { type AgentEnv, createAgents } from "./agents.ts";
import { type ServerEnv, serverOptions } from "./server_options.ts";

interface WorkerEnv extends AgentEnv, ServerEnv {
  RUNS: WorkersKvNamespace;
}

let app: Hono | undefined;

export default {
  fetch(request: Request, env: WorkerEnv, ctx: unknown): Response | Promise<Response> {
    app ??= createApp({ agents: createAgents(env), store: new CloudflareKvStore(env.RUNS), ...serverOptions(env) });
    return app.fetch(request, env, ctx as never);
  },
};
