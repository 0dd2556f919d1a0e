import { ConfigurationError, type EgressPolicy, InvalidInputError, type WebSearchToolOptions } from "../lib/mod.ts";
import {
  createLogger,
  type Logger,
  type LogSink,
  parseLogLevel,
  WEBHOOK_SCHEME_NAMES,
  type WebhookConfig,
  type WebhookSchemeName,
} from "../lib/server.ts";
import { DEFAULT_LOCK_TTL_MS, defaultStepTimeoutMs } from "../lib/runs/step_deadline.ts";

/** Server settings shared by both entries, read from the environment. */
export interface ServerEnv {
  /** Signs and encrypts stateless run tokens (>= 16 characters). */
  SMOLSTEP_SECRET?: string;
  /** Comma-separated API keys; when set, `/v1` requires `Authorization: Bearer <key>`. */
  SMOLSTEP_API_KEYS?: string;
  /**
   * The playground (`GET /`) and tool demo pages: "1" turns them on, "0" off. Default: on for the Deno entry, off
   * for the Workers entry (see `playgroundFromEnv`).
   */
  SMOLSTEP_PLAYGROUND?: string;
  /** Comma-separated allowed origins for browsers, or `*`. */
  SMOLSTEP_CORS_ORIGINS?: string;
  /** How long browsers may cache a CORS preflight (seconds; default 7200). */
  SMOLSTEP_CORS_MAX_AGE?: string;
  /** Verifies webhooks (`POST /v1/hooks/{agent}`) and signs result callbacks. */
  SMOLSTEP_WEBHOOK_SECRET?: string;
  /** Comma-separated webhook schemes accepted: `standard`, `github`, `stripe` (default all, picked by header). */
  SMOLSTEP_WEBHOOK_SCHEMES?: string;
  /** How long a step may hold a run's lock before another may take over (ms; default 5 minutes). */
  SMOLSTEP_LOCK_TTL_MS?: string;
  /** Seconds a finished run (and its blobs) is kept before it expires (default 604800, 7 days). */
  SMOLSTEP_RUN_TTL_SECONDS?: string;
  /** Seconds an active run may go without a step before it reads as `expired` (default 604800, 7 days). */
  SMOLSTEP_IDLE_RUN_TTL_SECONDS?: string;
  /** How long a step may take from its request's arrival (ms; default 90% of the lock; must be shorter). */
  SMOLSTEP_STEP_TIMEOUT_MS?: string;
  /** Steps this process runs at once; more are refused with 503 and Retry-After (default 100). */
  SMOLSTEP_MAX_STEPS_IN_FLIGHT?: string;
  /** First retry delay of background steps and callbacks (ms; default 1000). */
  SMOLSTEP_RETRY_DELAY_MS?: string;
  /** `1`: callbacks and image URLs may also reach http: and loopback / private hosts (local development only). */
  SMOLSTEP_EGRESS_ALLOW_PRIVATE?: string;
  /** Comma-separated hosts (`api.internal`, `*.corp.example`, `10.0.0.7`) or origins allowed regardless. */
  SMOLSTEP_EGRESS_ALLOW_HOSTS?: string;
  /** The MCP server on `/mcp` (behind the API keys): on unless "0". */
  SMOLSTEP_MCP?: string;
  /** "1": the MCP server lists the agents' own tools too (those that allow direct calls). */
  SMOLSTEP_MCP_TOOLS?: string;
  /**
   * At most this many reads of a run's record per request that follows one (`GET /v1/runs/{id}/events`, a chat
   * completion or MCP `tools/call` following a background run, a resumed MCP call); then the request ends as its
   * protocol lets the client go on (`events.maxReads`). "0": no limit. Default: no limit on Deno, 40 on Workers
   * (each read is a subrequest; 50 per request on the free plan).
   */
  SMOLSTEP_FOLLOW_MAX_READS?: string;
  /** `debug`, `info` (default: one JSON line per request), `warn`, `error` or `off`. */
  SMOLSTEP_LOG_LEVEL?: string;
}

/** The `researcher` example agent's web search, read from the environment. */
export interface ResearchEnv {
  /** `duckduckgo` (default, no key), `brave`, `serper` or `tavily`. */
  SMOLSTEP_SEARCH_PROVIDER?: string;
  /** The provider's key; without it, the provider's own variable below. */
  SMOLSTEP_SEARCH_API_KEY?: string;
  /** The provider's base URL (default: its public endpoint). */
  SMOLSTEP_SEARCH_BASE_URL?: string;
  BRAVE_API_KEY?: string;
  SERPER_API_KEY?: string;
  TAVILY_API_KEY?: string;
}

const SEARCH_PROVIDERS = ["duckduckgo", "brave", "serper", "tavily"] as const;
const PROVIDER_KEY_VARS = { brave: "BRAVE_API_KEY", serper: "SERPER_API_KEY", tavily: "TAVILY_API_KEY" } as const;

/**
 * The web search of the `researcher` agent: SMOLSTEP_SEARCH_PROVIDER, its key (SMOLSTEP_SEARCH_API_KEY, else
 * BRAVE_API_KEY / SERPER_API_KEY / TAVILY_API_KEY) and SMOLSTEP_SEARCH_BASE_URL. An unknown provider, or a keyed one
 * without a key, stops the start with the variable to set.
 */
export function webSearchFromEnv(env: ResearchEnv): WebSearchToolOptions {
  const provider = (env.SMOLSTEP_SEARCH_PROVIDER?.trim().toLowerCase() || "duckduckgo") as typeof SEARCH_PROVIDERS[
    number
  ];
  if (!SEARCH_PROVIDERS.includes(provider)) {
    throw new ConfigurationError(
      `SMOLSTEP_SEARCH_PROVIDER must be one of ${SEARCH_PROVIDERS.join(", ")} (got '${provider.slice(0, 40)}').`,
    );
  }
  const baseUrl = env.SMOLSTEP_SEARCH_BASE_URL?.trim() || undefined;
  if (provider === "duckduckgo") return { provider, baseUrl };
  const keyVar = PROVIDER_KEY_VARS[provider];
  const apiKey = env.SMOLSTEP_SEARCH_API_KEY?.trim() || env[keyVar]?.trim();
  if (!apiKey) {
    throw new ConfigurationError(`The ${provider} search provider needs SMOLSTEP_SEARCH_API_KEY or ${keyVar}.`);
  }
  return { provider, apiKey, baseUrl };
}

/** The egress rules from SMOLSTEP_EGRESS_ALLOW_PRIVATE and SMOLSTEP_EGRESS_ALLOW_HOSTS (callbacks, media, web tools). */
export function egressFromEnv(env: ServerEnv): EgressPolicy {
  const allowHosts = env.SMOLSTEP_EGRESS_ALLOW_HOSTS?.split(",").map((host) => host.trim()).filter(Boolean);
  return { allowPrivateNetwork: /^(1|true)$/i.test(env.SMOLSTEP_EGRESS_ALLOW_PRIVATE ?? ""), allowHosts };
}

/**
 * The example webhook: any agent accepts `{"task": "...", "additionalArgs": {...}}` payloads, and a GitHub "issues"
 * event becomes a triage task. A payload with fields of the wrong type is refused (400) before anything is written.
 */
export function exampleWebhook(schemes?: WebhookSchemeName[]): WebhookConfig {
  return {
    schemes,
    task: (payload) => {
      if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
        throw new InvalidInputError("The payload must be a JSON object.");
      }
      const body = payload as { task?: unknown; additionalArgs?: unknown; issue?: unknown };
      if (body.task !== undefined || body.additionalArgs !== undefined) {
        if (typeof body.task !== "string") throw new InvalidInputError("'task' must be a string.");
        const args = body.additionalArgs;
        if (args !== undefined && (args === null || typeof args !== "object" || Array.isArray(args))) {
          throw new InvalidInputError("'additionalArgs' must be an object.");
        }
        return { task: body.task, additionalArgs: args as Record<string, unknown> | undefined };
      }
      const issue = body.issue as { title?: unknown; body?: unknown; html_url?: unknown } | undefined;
      if (typeof issue?.title === "string" && issue.title) {
        const link = typeof issue.html_url === "string" ? issue.html_url : "no link";
        const text = typeof issue.body === "string" ? issue.body : "";
        return `Triage this GitHub issue (${link}): ${issue.title}\n\n${text}`;
      }
      return "";
    },
  };
}

/** Refuses unknown names at startup rather than accepting every scheme by mistake. */
function webhookSchemes(value: string | undefined): WebhookSchemeName[] | undefined {
  const names = value?.split(",").map((name) => name.trim()).filter(Boolean);
  if (!names?.length) return undefined;
  const unknown = names.filter((name) => !(WEBHOOK_SCHEME_NAMES as string[]).includes(name));
  if (unknown.length) {
    throw new ConfigurationError(`SMOLSTEP_WEBHOOK_SCHEMES: unknown scheme(s) ${unknown.join(", ")}.`);
  }
  return names as WebhookSchemeName[];
}

/**
 * A whole number >= `min` from the environment, or undefined when unset; anything else stops the start. A Worker's
 * `[vars]` value written without quotes arrives as a JSON number rather than a string; it is read the same way.
 */
export function wholeNumber(env: Record<string, string | undefined>, name: string, min = 1): number | undefined {
  const given: unknown = env[name];
  const raw = given === undefined || given === null ? undefined : String(given).trim();
  if (!raw) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigurationError(`${name} must be a whole number of at least ${min} (got '${raw.slice(0, 40)}').`);
  }
  return value;
}

/** The step deadline both entries size things by: SMOLSTEP_STEP_TIMEOUT_MS, else 90% of SMOLSTEP_LOCK_TTL_MS. */
export function stepTimeoutFromEnv(env: ServerEnv): number {
  const vars = env as Record<string, string | undefined>;
  const lockTtlMs = wholeNumber(vars, "SMOLSTEP_LOCK_TTL_MS") ?? DEFAULT_LOCK_TTL_MS;
  return wholeNumber(vars, "SMOLSTEP_STEP_TIMEOUT_MS") ?? defaultStepTimeoutMs(lockTtlMs);
}

/**
 * The server's logger: JSON lines at SMOLSTEP_LOG_LEVEL (default `info`; an unknown level stops the start), through
 * `sink` (default: the console, one write per line).
 */
export function loggerFromEnv(env: ServerEnv, sink?: LogSink): Logger {
  let level;
  try {
    level = parseLogLevel(env.SMOLSTEP_LOG_LEVEL);
  } catch (error) {
    throw new ConfigurationError(`SMOLSTEP_LOG_LEVEL: ${(error as Error).message}`);
  }
  return createLogger({ level: level ?? "info", sink });
}

/** Whether the playground pages are served: SMOLSTEP_PLAYGROUND "1" / "0", else the entry's default. */
export function playgroundFromEnv(env: ServerEnv, byDefault: boolean): boolean {
  if (env.SMOLSTEP_PLAYGROUND === "1") return true;
  if (env.SMOLSTEP_PLAYGROUND === "0") return false;
  return byDefault;
}

/** How long runs and their blobs are kept: SMOLSTEP_RUN_TTL_SECONDS, SMOLSTEP_IDLE_RUN_TTL_SECONDS (the CLI's sweep too). */
export function lifecycleFromEnv(env: ServerEnv): { runTtlSeconds?: number; idleRunTtlSeconds?: number } {
  return {
    runTtlSeconds: wholeNumber(env as Record<string, string | undefined>, "SMOLSTEP_RUN_TTL_SECONDS"),
    idleRunTtlSeconds: wholeNumber(env as Record<string, string | undefined>, "SMOLSTEP_IDLE_RUN_TTL_SECONDS"),
  };
}

/**
 * How many reads of a run one request following it may make (`events.maxReads`): SMOLSTEP_FOLLOW_MAX_READS ("0": no
 * limit), else the entry's default (undefined: no limit).
 */
export function followMaxReadsFromEnv(env: ServerEnv, byDefault: number | undefined): number | undefined {
  const value = wholeNumber(env as Record<string, string | undefined>, "SMOLSTEP_FOLLOW_MAX_READS", 0);
  if (value === undefined) return byDefault;
  return value === 0 ? undefined : value;
}

/**
 * The options both entries share. `followMaxReads`: the entry's default for SMOLSTEP_FOLLOW_MAX_READS (the Workers
 * entry's is sized for the free plan's 50 subrequests per request, with room for the request's other ones).
 */
export function serverOptions(
  env: ServerEnv,
  agentNames: string[],
  { followMaxReads }: { followMaxReads?: number } = {},
) {
  const apiKeys = env.SMOLSTEP_API_KEYS?.split(",").map((key) => key.trim()).filter(Boolean);
  const origins = env.SMOLSTEP_CORS_ORIGINS?.split(",").map((origin) => origin.trim()).filter(Boolean);
  const webhookSecret = env.SMOLSTEP_WEBHOOK_SECRET || undefined;
  const schemes = webhookSchemes(env.SMOLSTEP_WEBHOOK_SCHEMES);
  const egress = egressFromEnv(env);
  const vars = env as Record<string, string | undefined>;
  return {
    secret: env.SMOLSTEP_SECRET,
    apiKeys: apiKeys?.length ? apiKeys : undefined,
    cors: origins?.length
      ? { origin: origins.includes("*") ? "*" : origins, maxAge: wholeNumber(vars, "SMOLSTEP_CORS_MAX_AGE", 0) }
      : undefined,
    webhookSecret,
    webhooks: webhookSecret ? Object.fromEntries(agentNames.map((name) => [name, exampleWebhook(schemes)])) : undefined,
    lockTtlMs: wholeNumber(vars, "SMOLSTEP_LOCK_TTL_MS"),
    ...lifecycleFromEnv(env),
    stepTimeoutMs: wholeNumber(vars, "SMOLSTEP_STEP_TIMEOUT_MS"),
    maxStepsInFlight: wholeNumber(vars, "SMOLSTEP_MAX_STEPS_IN_FLIGHT"),
    retryDelayMs: wholeNumber(vars, "SMOLSTEP_RETRY_DELAY_MS", 0),
    events: { maxReads: followMaxReadsFromEnv(env, followMaxReads) },
    egress,
    logger: loggerFromEnv(env),
  };
}
