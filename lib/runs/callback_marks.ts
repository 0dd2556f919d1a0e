import type { AgentState } from "../memory/agent_state.ts";
import type { StateStore } from "../stores/state_store.ts";
import type { RunLifecycle } from "./run_lifecycle.ts";

/**
 * Where a run's result callback is, in two keys kept as long as the run (a run's DELETE leaves them to expire: they
 * hold a time, nothing of the run's):
 *
 * - `runs/<id>/callback-queued`, written once a callback message has been queued for it (after the queue took it).
 * - `runs/<id>/callback`, written once the delivery ends (sent, refused by the egress guard, or given up on after its
 *   last attempt). Before that, each attempt claims it (`sending:<until>`, a compare-and-set on a missing key or on a
 *   claim that has run out, kept a few seconds past the attempt's time limit) and releases it if the attempt fails,
 *   so a callback queued twice is sent once, even by two deliveries at the same moment (on stores with an atomic
 *   compare-and-set: not Workers KV). A claim is never taken for settled (it is not a time): a delivery that finds
 *   one looks again once it has run out, and a claim left by a process that died runs out by itself.
 *
 * Whatever ended a run queues its callback and marks it queued. If that fails (the queue refused it, the process
 * died first), the request or message that ended the run fails or is lost, and its retry (the step message coming
 * back, the delayed copy a step by hand queued, a cancel sent again, the run's expiry watch) finds the run ended with
 * neither mark and queues it (`BackgroundRunner.recoverCallback`). A retry that finds either mark queues nothing,
 * so a callback that was queued is not queued again by a retry.
 */

/** The key of a run's settled-callback mark. */
export function callbackMarkKey(runId: string): string {
  return `runs/${runId}/callback`;
}

/** The key of a run's queued-callback mark (a separate key: a server that knows only the settled mark ignores it). */
export function callbackQueuedKey(runId: string): string {
  return `runs/${runId}/callback-queued`;
}

/** How a delivery attempt's claim on the settled mark's key starts; a settled mark is a time (digits). */
const SENDING = "sending:";
/**
 * A released claim (`sending:0`, free to take) expires at once, and reads as missing, like the delete it stands for:
 * a server older than claims (during a rolling deploy) takes any value of the key for settled, and would drop the
 * retry (Workers KV keeps it 60 s, its least expiry).
 */
const RELEASED_EXPIRE_IN_SECONDS = 0.001;

/** A delivery attempt's claim on the run's callback: the version of the key it wrote. */
export interface Claim {
  version: string;
}

export class CallbackMarks {
  readonly #store: StateStore;
  readonly #lifecycle: RunLifecycle;

  constructor(store: StateStore, lifecycle: RunLifecycle) {
    this.#store = store;
    this.#lifecycle = lifecycle;
  }

  /**
   * Claims the run's callback for one delivery attempt of at most `holdMs`: the claim (its version), or `settled` (its
   * delivery has ended), or `sending` (another attempt holds it). Release a claim whose attempt fails
   * ({@link release}), or settle it. One read and, when claimed, one compare-and-set.
   */
  async claim(runId: string, holdMs: number): Promise<Claim | "settled" | "sending"> {
    const key = callbackMarkKey(runId);
    const mark = await this.#store.get(key);
    const until = mark?.value.startsWith(SENDING) ? Number(mark.value.slice(SENDING.length)) : undefined;
    if (mark && until === undefined) return "settled";
    // A claim past its time is free (a store that keeps keys past their `expireIn` may still show it).
    if (until !== undefined && until > Date.now()) return "sending";
    const value = `${SENDING}${Date.now() + holdMs}`;
    const put = await this.#store.put(key, value, { expectedVersion: mark?.version ?? null, expireIn: holdMs / 1000 });
    return put.ok ? { version: put.version } : "sending";
  }

  /**
   * Gives back the claim of an attempt that failed (the next attempt claims it again): a compare-and-set on the claim
   * (a claim already run out, written `sending:0`), so an attempt that outlived its claim (a name that took long to
   * resolve) never takes away another attempt's claim, or the mark of a delivery that has ended since.
   */
  async release(runId: string, claim: Claim): Promise<void> {
    await this.#store.put(callbackMarkKey(runId), `${SENDING}0`, {
      expectedVersion: claim.version,
      expireIn: RELEASED_EXPIRE_IN_SECONDS,
    });
  }

  /** Whether the run's callback was ever queued (or settled, by a server that wrote no queued mark): one read. */
  async queuedOrSettled(runId: string): Promise<boolean> {
    const marks = await this.#store.getMany([callbackQueuedKey(runId), callbackMarkKey(runId)]);
    return marks.some((mark) => mark !== null);
  }

  /** Marks the callback of the run (now in `state`) queued, for as long as the run is kept. */
  async queued(runId: string, state: AgentState): Promise<void> {
    await this.#store.put(callbackQueuedKey(runId), String(Date.now()), { expireIn: this.#lifecycle.expireIn(state) });
  }

  /** Marks the callback of the run (now in `state`) settled, for as long as the run is kept. */
  async settle(runId: string, state: AgentState): Promise<void> {
    await this.#store.put(callbackMarkKey(runId), String(Date.now()), { expireIn: this.#lifecycle.expireIn(state) });
  }
}
