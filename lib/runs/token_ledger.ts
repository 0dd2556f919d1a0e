import type { StateStore, StoredValue } from "../stores/state_store.ts";
import { type OpenedStateToken, StateTokenError } from "./state_token.ts";

/**
 * Replay protection of stateless tokens where the server has a store. A token is single-use: the first request
 * that steps it (or answers it, on `/input`) claims its id, and the id is remembered as used until the token
 * expires; the same token again is refused with `token_replayed` before anything runs.
 *
 * A claim is taken with a compare-and-set write before the step and works like a KV run's lock: a step that fails
 * (model error, refused input, abort) frees the token again, so the client can retry it; a claim whose process
 * died frees itself after `claimTtlMs`. On a non-atomic store (Workers KV) detection is best effort.
 *
 * Round trips (Deno KV, Durable Objects): a fresh token costs two writes and no read (a create-if-missing claim,
 * then `used`); a replayed one a refused write and a read (two on Deno KV, whose refused create reads the head).
 * Freeing a claim costs a write (and a read, when the token was fresh). Workers KV adds a read to each
 * compare-and-set. On Deno KV these writes go through the handle's group commit (deno_kv_commit_batcher.ts), so
 * under load they share disk flushes with other requests' writes, each still judged by its own check.
 *
 * Why two writes and not one: the claim must be durable before the step runs anything (two requests with one token
 * at once: exactly one runs), and `used` after it succeeded and before its answer leaves (else a process dying
 * right after answering would leave a claim that frees itself, and the stepped token could run again). A single
 * write could not tell a step that succeeded from one whose process died, so one of those guarantees would go.
 */

/** What the store keeps per token id. */
type Entry = { status: "running"; until: number } | { status: "used" };

/** A token claimed by one request: mark it used after the step, or free it when the step failed. */
export interface TokenClaim {
  used(): Promise<void>;
  free(): Promise<void>;
}

/** Seconds an entry outlives its token, for clock differences between instances. */
const EXPIRY_MARGIN_SECONDS = 60;
const CLAIM_ATTEMPTS = 3;

/** Seconds from `now` (epoch ms) to keep the entry of a token that expires at `exp` (epoch seconds). */
export function ledgerExpireIn(exp: number, now: number = Date.now()): number {
  return Math.max(1, exp - Math.floor(now / 1000) + EXPIRY_MARGIN_SECONDS);
}

export class TokenLedger {
  readonly #store: StateStore;
  readonly #claimTtlMs: number;

  constructor(store: StateStore, options: { claimTtlMs: number }) {
    this.#store = store;
    this.#claimTtlMs = options.claimTtlMs;
  }

  /** Claims the token for one step; throws `token_replayed` when it was used or is in use. */
  async claim(token: OpenedStateToken): Promise<TokenClaim> {
    if (!token.id || !/^[A-Za-z0-9_-]{16,64}$/.test(token.id)) {
      throw new StateTokenError(
        "invalid_token",
        "Invalid state token: it carries no id, so a replay could not be detected (sealed by an older server); start a new run.",
      );
    }
    const key = `tokens/${token.id}`;
    const expireIn = ledgerExpireIn(token.exp);
    // A token is normally fresh: claim it with a create-if-missing write and no read. Only when that loses is the
    // entry read, to tell a used token from one in use or a claim that expired.
    let current: StoredValue | null = null;
    for (let attempt = 0; attempt <= CLAIM_ATTEMPTS; attempt++) {
      if (attempt > 0) {
        current = await this.#store.get(key);
        const entry = current ? JSON.parse(current.value) as Entry : undefined;
        if (entry?.status === "used") {
          throw new StateTokenError(
            "token_replayed",
            "This state token was already used: each token steps once. Continue with the token the step returned.",
          );
        }
        if (entry?.status === "running" && entry.until > Date.now()) throw this.#inUse();
      }
      const running: Entry = { status: "running", until: Date.now() + this.#claimTtlMs };
      const claimed = await this.#store.put(key, JSON.stringify(running), {
        expectedVersion: current?.version ?? null,
        expireIn,
      });
      if (claimed.ok) {
        return {
          // Unconditional: even if our claim expired meanwhile, this token has now been stepped.
          used: async () => void await this.#store.put(key, JSON.stringify({ status: "used" }), { expireIn }),
          // Puts the ledger back as it was (a refused step leaves no trace), only while the claim is still ours,
          // so a takeover after expiry is not undone.
          free: () => this.#restore(key, claimed.version, current, expireIn),
        };
      }
    }
    throw this.#inUse();
  }

  async #restore(key: string, claimedVersion: string, previous: StoredValue | null, expireIn: number) {
    try {
      if (previous) {
        await this.#store.put(key, previous.value, { expectedVersion: claimedVersion, expireIn });
        return;
      }
      // Stores have no conditional delete: check that the claim is still ours just before removing it.
      if ((await this.#store.get(key))?.version === claimedVersion) await this.#store.delete(key);
    } catch {
      // The claim expires by itself after claimTtlMs.
    }
  }

  #inUse(): StateTokenError {
    return new StateTokenError(
      "token_replayed",
      "This state token is being used by another request; each token steps once.",
    );
  }
}
