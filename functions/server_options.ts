import type { WebhookConfig } from "../lib/mod.ts";

/** Server settings shared by both entries, read from the environment. */
export interface ServerEnv {
  /** Signs and encrypts stateless run tokens (>= 16 characters). */
  SMOLSTEP_SECRET?: string;
  /** Comma-separated API keys; when set, `/v1` requires `Authorization: Bearer <key>`. */
  SMOLSTEP_API_KEYS?: string;
  /** Comma-separated allowed origins for browsers, or `*`. */
  SMOLSTEP_CORS_ORIGINS?: string;
  /** How long browsers may cache a CORS preflight (seconds; default 7200). */
  SMOLSTEP_CORS_MAX_AGE?: string;
  /** Verifies webhooks (`POST /v1/hooks/{agent}`) and signs result callbacks. */
  SMOLSTEP_WEBHOOK_SECRET?: string;
  /** How long a step may hold a run's lock before another may take over (ms; default 5 minutes). */
  SMOLSTEP_LOCK_TTL_MS?: string;
  /** First retry delay of background steps and callbacks (ms; default 1000). */
  SMOLSTEP_RETRY_DELAY_MS?: string;
}

/**
 * The example webhook: any agent accepts `{"task": "..."}` payloads (and `additionalArgs`), and a GitHub
 * "issues" event becomes a triage task.
 */
export function exampleWebhook(): WebhookConfig {
  return {
    task: (payload) => {
      const body = (payload ?? {}) as {
        task?: unknown;
        additionalArgs?: Record<string, unknown>;
        issue?: { title?: string; body?: string; html_url?: string };
      };
      if (typeof body.task === "string") return { task: body.task, additionalArgs: body.additionalArgs };
      if (body.issue?.title) {
        return `Triage this GitHub issue (${body.issue.html_url ?? "no link"}): ${body.issue.title}\n\n${
          body.issue.body ?? ""
        }`;
      }
      return "";
    },
  };
}

function number(value: string | undefined): number | undefined {
  return value && Number.isFinite(Number(value)) ? Number(value) : undefined;
}

export function serverOptions(env: ServerEnv, agentNames: string[]) {
  const apiKeys = env.SMOLSTEP_API_KEYS?.split(",").map((key) => key.trim()).filter(Boolean);
  const origins = env.SMOLSTEP_CORS_ORIGINS?.split(",").map((origin) => origin.trim()).filter(Boolean);
  const webhookSecret = env.SMOLSTEP_WEBHOOK_SECRET || undefined;
  return {
    secret: env.SMOLSTEP_SECRET,
    apiKeys: apiKeys?.length ? apiKeys : undefined,
    cors: origins?.length
      ? { origin: origins.includes("*") ? "*" : origins, maxAge: number(env.SMOLSTEP_CORS_MAX_AGE) }
      : undefined,
    webhookSecret,
    webhooks: webhookSecret ? Object.fromEntries(agentNames.map((name) => [name, exampleWebhook()])) : undefined,
    lockTtlMs: number(env.SMOLSTEP_LOCK_TTL_MS),
    retryDelayMs: number(env.SMOLSTEP_RETRY_DELAY_MS),
  };
}
