import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import type { MultiStepAgent } from "../agents/multi_step_agent.ts";
import { RunService } from "../runs/run_service.ts";
import { StateTokenCodec } from "../runs/state_token.ts";
import type { StateStore } from "../stores/state_store.ts";
import { errorHandler, HttpError } from "./http_errors.ts";
import { CreateRunBody, StatelessStepBody, StepBody } from "./http_schemas.ts";
import { readJson } from "./request_body.ts";
import { runView, stepView } from "./run_views.ts";

export interface AppOptions {
  /** The agents served, by route name. */
  agents: Record<string, MultiStepAgent>;
  /** Where KV-mode runs live. Without it, only stateless runs are served. */
  store?: StateStore;
  /** Signs (and encrypts) stateless state tokens; at least 16 characters. Without it, stateless mode is off. */
  secret?: string;
  /** When set, `/v1/*` requires `Authorization: Bearer <one of these>` (compared in constant time). */
  apiKeys?: string[];
  /** CORS for browser callers: `true` allows any origin, or give Hono's cors options. Off by default. */
  cors?: boolean | Parameters<typeof cors>[0];
  /** Request bodies larger than this are rejected with 413 (default 1 MiB). */
  maxBodyBytes?: number;
  /** Encrypt stateless tokens (default true); they are always signed. */
  encryptState?: boolean;
  /** Lifetime of stateless tokens in seconds (default 7 days). */
  stateTtlSeconds?: number;
  /** How long a step may hold a KV run's lock before another step may take over (default 5 minutes). */
  lockTtlMs?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** Builds the smolstep HTTP API as a Hono app (`app.fetch` is a standard fetch handler). */
export function createApp(options: AppOptions): Hono {
  const app = new Hono();
  const runs = options.store ? new RunService(options.store, { lockTtlMs: options.lockTtlMs }) : undefined;
  const tokens = options.secret
    ? new StateTokenCodec(options.secret, { encrypt: options.encryptState, ttlSeconds: options.stateTtlSeconds })
    : undefined;

  const agentNamed = (name: string): MultiStepAgent => {
    const agent = Object.hasOwn(options.agents, name) ? options.agents[name] : undefined;
    if (!agent) throw new HttpError(404, "agent_not_found", `No agent named '${name}'.`);
    return agent;
  };
  const requireRuns = (): RunService => {
    if (!runs) throw new HttpError(501, "store_not_configured", "This server keeps no runs; use stateless mode.");
    return runs;
  };
  const requireTokens = (): StateTokenCodec => {
    if (!tokens) {
      throw new HttpError(501, "stateless_not_configured", "Stateless runs need a server secret (SMOLSTEP_SECRET).");
    }
    return tokens;
  };

  app.onError(errorHandler);
  app.notFound((c) =>
    c.json({ error: { code: "not_found", message: `No route for ${c.req.method} ${c.req.path}` } }, 404)
  );
  if (options.cors) app.use("*", cors(options.cors === true ? undefined : options.cors));
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      onError: () => {
        throw new HttpError(
          413,
          "payload_too_large",
          `Request bodies are limited to ${options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES} bytes.`,
        );
      },
    }),
  );
  if (options.apiKeys?.length) app.use("/v1/*", bearerAuth({ token: options.apiKeys }));

  app.get("/health", (c) => c.json({ ok: true, agents: Object.keys(options.agents).length }));

  app.get("/v1/agents", (c) =>
    c.json({
      agents: Object.entries(options.agents).map(([name, agent]) => ({
        name,
        kind: agent.kind,
        description: agent.description,
        maxSteps: agent.maxSteps,
        tools: [...agent.tools.values()].map((tool) => ({
          name: tool.name,
          description: tool.description,
          inputs: tool.inputs,
          outputType: tool.outputType,
          parameters: tool.parameters,
        })),
      })),
      modes: { kv: Boolean(runs), stateless: Boolean(tokens) },
    }));

  app.post("/v1/agents/:name/runs", async (c) => {
    const name = c.req.param("name");
    const agent = agentNamed(name);
    const body = await readJson(c, CreateRunBody);
    const state = agent.start(body.task, {
      maxSteps: body.maxSteps ?? body.maxIterations,
      additionalArgs: body.additionalArgs,
      images: body.images,
    });
    if (body.stateless) {
      return c.json({ agent: name, status: state.status, state: await requireTokens().seal(name, state) }, 201);
    }
    const record = await requireRuns().create(name, state);
    return c.json({ ...runView(record.runId, name, state) }, 201, { Location: `/v1/runs/${record.runId}` });
  });

  app.post("/v1/agents/:name/steps", async (c) => {
    const name = c.req.param("name");
    const agent = agentNamed(name);
    const codec = requireTokens();
    const body = await readJson(c, StatelessStepBody);
    const state = await codec.open(body.state, name);
    const result = await agent.step(state, { signal: c.req.raw.signal });
    return c.json({ agent: name, ...stepView(result.state, result.step), state: await codec.seal(name, result.state) });
  });

  app.post("/v1/runs/:runId/steps", async (c) => {
    const service = requireRuns();
    await readJson(c, StepBody, { optional: true });
    const runId = c.req.param("runId");
    const idempotencyKey = c.req.header("Idempotency-Key");
    if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > 200)) {
      throw new HttpError(400, "invalid_idempotency_key", "Idempotency-Key must be 1 to 200 characters.");
    }
    const found = await service.get(runId);
    if (!found) throw new HttpError(404, "run_not_found", `No run with id '${runId}'.`);
    const agent = agentNamed(found.record.agent);
    const outcome = await service.step(runId, agent, { idempotencyKey, signal: c.req.raw.signal });
    const headers: Record<string, string> = outcome.replayed ? { "Idempotent-Replayed": "true" } : {};
    return c.json({ runId, ...stepView(outcome.record.state, outcome.step) }, 200, headers);
  });

  app.get("/v1/runs/:runId", async (c) => {
    const runId = c.req.param("runId");
    const found = await requireRuns().get(runId);
    if (!found) throw new HttpError(404, "run_not_found", `No run with id '${runId}'.`);
    return c.json(runView(runId, found.record.agent, found.record.state));
  });

  return app;
}
