import { toHex } from "../crypto/hmac.ts";
import type { StateStore } from "../stores/state_store.ts";

/** What claiming a delivery found. */
export type DeliveryClaim =
  | {
    status: "claimed";
    /** Records the run the delivery started: replays are answered with it from now on. */
    complete(runId: string): Promise<void>;
    /** Forgets the claim (the run could not be created), so the sender's retry starts the run. */
    release(): Promise<void>;
  }
  /**
   * Claimed before, by the run `runId`. `otherRequest`: the claim was made for another request than the one given
   * (`claim`'s `request`): the key was reused, not retried.
   */
  | { status: "duplicate"; runId: string; otherRequest?: true }
  /** Another request holds the claim and is creating the run right now; try again shortly. */
  | { status: "in_progress" };

const PENDING = "pending:";
/** Between a completed claim's run id and the digest of the request it was claimed for (run ids have no newline). */
const REQUEST_SEPARATOR = "\n";

/**
 * The shortest replay window, a week: far longer than a signed timestamp is accepted (Standard Webhooks, Stripe), and
 * the only bound on GitHub replays, which carry no signed time.
 */
const REPLAY_WINDOW_SECONDS = 7 * 24 * 3600;

/** `AppOptions.webhookToleranceSeconds` when unset. */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

/**
 * Seconds a delivery's claim is kept (`windowSeconds`): a week, or twice the signature's timestamp tolerance if
 * longer, so a delivery is remembered as long as its signature could be replayed.
 */
export function deliveryWindowSeconds(toleranceSeconds: number): number {
  return Math.max(REPLAY_WINDOW_SECONDS, 2 * toleranceSeconds);
}

/**
 * Remembers which run each webhook delivery started, by replay key (what the sender signed), for `windowSeconds`,
 * so a delivery starts at most one run.
 *
 * The route claims a delivery only once its payload is known to be valid, then creates the run and completes the
 * claim with the run id. A claim whose run could not be created is released; one left by a process that died
 * in between expires after `lockTtlMs`, like a step lock, and the next delivery takes it over. A replay is never
 * answered without the run id it started.
 */
export class DeliveryClaims {
  readonly #store: StateStore;
  readonly #lockTtlMs: number;
  readonly #windowSeconds: number;

  constructor(store: StateStore, options: { lockTtlMs: number; windowSeconds: number }) {
    this.#store = store;
    this.#lockTtlMs = options.lockTtlMs;
    this.#windowSeconds = options.windowSeconds;
  }

  /**
   * Claims `replayKey` under `agent` (null: under no agent's, for keys that name a caller's request whatever it
   * asks). With `request` (what the request asks, as text), a completed claim remembers its digest, and a later
   * claim for another request is a `duplicate` with `otherRequest`.
   */
  async claim(agent: string | null, replayKey: string, request?: string): Promise<DeliveryClaim> {
    const key = await this.#key(agent, replayKey);
    const digest = request === undefined ? "" : await sha256(request);
    const expireIn = this.#windowSeconds;
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await this.#store.get(key);
      if (existing?.value && !existing.value.startsWith(PENDING)) return duplicate(existing.value, digest);
      if (existing && Number(existing.value.slice(PENDING.length)) > Date.now()) return { status: "in_progress" };
      const pending = `${PENDING}${Date.now() + this.#lockTtlMs}`;
      const written = await this.#store.put(key, pending, { expectedVersion: existing?.version ?? null, expireIn });
      if (written.ok) {
        const completed = (runId: string) => digest ? `${runId}${REQUEST_SEPARATOR}${digest}` : runId;
        return {
          status: "claimed",
          complete: async (runId) => {
            await this.#store.put(key, completed(runId), { expireIn });
          },
          release: () => this.#store.delete(key),
        };
      }
    }
    return { status: "in_progress" };
  }

  /** The run a completed claim of `replayKey` for the same `request` started (one read, nothing written). */
  async find(agent: string | null, replayKey: string, request?: string): Promise<string | undefined> {
    const existing = await this.#store.get(await this.#key(agent, replayKey));
    if (!existing?.value || existing.value.startsWith(PENDING)) return undefined;
    const found = duplicate(existing.value, request === undefined ? "" : await sha256(request));
    return found.otherRequest ? undefined : found.runId;
  }

  async #key(agent: string | null, replayKey: string): Promise<string> {
    return agent === null ? `requests/${await sha256(replayKey)}` : `hooks/${agent}/${await sha256(replayKey)}`;
  }
}

async function sha256(text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

/** A completed claim's value (`runId`, and the digest of its request if it was claimed with one) read for `digest`. */
function duplicate(value: string, digest: string): Extract<DeliveryClaim, { status: "duplicate" }> {
  const [runId, claimedFor = ""] = value.split(REQUEST_SEPARATOR);
  return claimedFor === digest ? { status: "duplicate", runId } : { status: "duplicate", runId, otherRequest: true };
}
