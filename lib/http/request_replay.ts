/**
 * Requests named for their retries (`startRunToAnswer`'s `replay`, ./run_to_answer.ts): which run a request named
 * so started, remembered for {@link REQUEST_KEY_WINDOW_SECONDS} with the webhook deliveries' claims
 * (lib/webhooks/delivery_claims.ts), so a retried request answers from that run instead of starting another.
 *
 * A request is named by the caller's key (scoped to its credentials) and says what it asks as `request` (the chat
 * completion's body, lib/http/openai_routes.ts; the MCP call's tool and arguments,
 * lib/mcp/server/mcp_idempotency.ts), compared as {@link canonicalJson}: the same key sent with another request is
 * refused (`idempotency_key_reused`), as Stripe and the IETF `Idempotency-Key` draft refuse a key reused with another
 * payload. A request without `request` is named by its key alone, under its agent.
 */
import type { RunService } from "../runs/run_service.ts";
import { type DeliveryClaim, DeliveryClaims } from "../webhooks/delivery_claims.ts";
import { HttpError } from "./http_errors.ts";

/** How long a request's key names its run: a day, as OpenAI's and Stripe's idempotency keys. */
export const REQUEST_KEY_WINDOW_SECONDS = 86_400;

/** What names a request for its retries. */
export interface RequestReplay {
  /** The caller's key, scoped to what may share it (the caller's credentials). */
  key: string;
  /** What the request asks, as text: a key claimed for another request is refused. Unset: the key alone names it. */
  request?: string;
  /**
   * The key, without `request`, that servers before requests were compared claimed this same request under (its
   * agent's `hooks/<agent>/<digest>`, as chat completions did with the body in the key): a new claim whose request
   * was claimed there answers from that run. Such claims are gone a day after the last of those servers stopped.
   */
  formerKey?: string;
}

/**
 * Claims `replay` for the run the request is about to start; `reads` is the store reads that took (one, or two when
 * a new claim looked for its `formerKey`).
 */
export async function claimRequest(
  runs: RunService,
  agent: string,
  replay: RequestReplay,
): Promise<DeliveryClaim & { reads: number }> {
  const { key, request, formerKey } = replay;
  const claims = claimsOf(runs);
  const claim = await claims.claim(request === undefined ? agent : null, `request\n${key}`, request);
  if (claim.status !== "claimed" || formerKey === undefined) return { ...claim, reads: 1 };
  const former = await claims.find(agent, `request\n${formerKey}`);
  if (former === undefined) return { ...claim, reads: 2 };
  // The same request, claimed before requests were compared: its run, named from now on by the new claim.
  await claim.complete(former);
  return { status: "duplicate", runId: former, reads: 2 };
}

/**
 * The run a request named as `replay` started, if one did (for the same request): one read, nothing claimed. For a
 * caller that must name the run before it is started or found (an MCP call's event ids).
 */
export function findRequestRun(runs: RunService, agent: string, replay: RequestReplay): Promise<string | undefined> {
  const { key, request } = replay;
  return claimsOf(runs).find(request === undefined ? agent : null, `request\n${key}`, request);
}

/**
 * What a request whose run could not be started (its first step not queued, its claim not completed) leaves: no run
 * that nothing steps (it is ended `failed`), and no key naming one (the claim is released), so its retry starts one.
 */
export async function abandonStart(runs: RunService, claim: DeliveryClaim | undefined, runId?: string): Promise<void> {
  if (runId) await runs.fail(runId, { type: "RunError", message: "The run could not be started." }).catch(() => {});
  if (claim?.status === "claimed") await claim.release().catch(() => {});
}

/** 409 `request_in_progress`: another request named so is creating its run right now (retryable). */
export function requestInProgress(): HttpError {
  return new HttpError(409, "request_in_progress", "A request with this Idempotency-Key is starting its run; retry.", {
    "Retry-After": "1",
  });
}

/** 422 `idempotency_key_reused`: the key named another request. The other request's run is not named. */
export function keyReused(): HttpError {
  return new HttpError(
    422,
    "idempotency_key_reused",
    "This idempotency key was already used for another request within the last day (a chat completion with " +
      "another body, an MCP call of another tool or with other arguments); it starts nothing. Use a new key for a " +
      "new request.",
  );
}

/** JSON with every object's keys in order: the same request gives the same text however it was written. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (!item || typeof item !== "object" || Array.isArray(item)) return item;
    return Object.fromEntries(Object.entries(item).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));
  });
}

function claimsOf(runs: RunService): DeliveryClaims {
  return new DeliveryClaims(runs.store, { lockTtlMs: runs.lockTtlMs, windowSeconds: REQUEST_KEY_WINDOW_SECONDS });
}
