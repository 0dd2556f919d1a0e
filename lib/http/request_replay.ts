/**
 * Requests named for their retries (`startRunToAnswer`'s `replayKey`, ./run_to_answer.ts): which run a request named
 * so started, remembered for {@link REQUEST_KEY_WINDOW_SECONDS} with the webhook deliveries' claims
 * (lib/webhooks/delivery_claims.ts), so a retried request answers from that run instead of starting another.
 *
 * Two ways to name a request. The chat completions route puts the whole body in the key, under the model's agent:
 * a key sent again with another body names another request, which starts its own run. The MCP server (a `tools/call`
 * with an idempotency key, lib/mcp/server/mcp_idempotency.ts) names the caller's request by the key alone and gives
 * what it asks as `request`: the same key sent with another tool or other arguments is refused
 * (`idempotency_key_reused`), as Stripe and the IETF `Idempotency-Key` draft refuse a key reused with another body.
 */
import type { RunService } from "../runs/run_service.ts";
import { type DeliveryClaim, DeliveryClaims } from "../webhooks/delivery_claims.ts";
import { HttpError } from "./http_errors.ts";

/** How long a request's `replayKey` names its run: a day, as OpenAI's and Stripe's idempotency keys. */
export const REQUEST_KEY_WINDOW_SECONDS = 86_400;

/** What names a request for its retries. */
export interface RequestReplay {
  /** The caller's key, scoped to what may share it (the caller's credentials; for chat, the body too). */
  key: string;
  /** What the request asks, as text: a key claimed for another request is refused. Unset: the key alone names it. */
  request?: string;
}

/** Claims `replay` for the run the request is about to start. */
export function claimRequest(runs: RunService, agent: string, replay: RequestReplay): Promise<DeliveryClaim> {
  const { key, request } = replay;
  return claimsOf(runs).claim(request === undefined ? agent : null, `request\n${key}`, request);
}

/**
 * The run a request named as `replay` started, if one did (for the same request): one read, nothing claimed. For a
 * caller that must name the run before it is started or found (an MCP call's event ids).
 */
export function findRequestRun(runs: RunService, agent: string, replay: RequestReplay): Promise<string | undefined> {
  const { key, request } = replay;
  return claimsOf(runs).find(request === undefined ? agent : null, `request\n${key}`, request);
}

/** 409 `request_in_progress`: another request named so is creating its run right now (retryable). */
export function requestInProgress(): HttpError {
  return new HttpError(409, "request_in_progress", "A request with this Idempotency-Key is starting its run; retry.", {
    "Retry-After": "1",
  });
}

/** 422 `idempotency_key_reused`: the key named another request (another tool, other arguments). */
export function keyReused(): HttpError {
  return new HttpError(
    422,
    "idempotency_key_reused",
    "This idempotency key was already used for another request (another tool or other arguments) within the " +
      "last day; it starts nothing. Use a new key for a new request.",
  );
}

function claimsOf(runs: RunService): DeliveryClaims {
  return new DeliveryClaims(runs.store, { lockTtlMs: runs.lockTtlMs, windowSeconds: REQUEST_KEY_WINDOW_SECONDS });
}
