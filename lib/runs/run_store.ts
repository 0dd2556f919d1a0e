import type { AgentState } from "../memory/agent_state.ts";
import type { PutResult, StateStore, StoredValue } from "../stores/state_store.ts";
import { StoreLimitError, utf8Length } from "../stores/store_limit_error.ts";
import { deleteRunBlobs, keepRunBlobs } from "./run_blobs.ts";
import type { RunLifecycle } from "./run_lifecycle.ts";
import { encodeRecord, parseStored, RunError, type RunRecord } from "./run_record.ts";

/** A run record as read: `stored` is its text as stored, for putting it back byte for byte. */
export interface LoadedRun {
  record: RunRecord;
  version: string;
  stored: string;
}

const RUN_ID = /^[A-Za-z0-9-]{1,64}$/;

/**
 * Where and how runs are kept in a `StateStore`: the record under `runs/<id>`, the cancel flag under
 * `runs/<id>/cancel`, the blobs under `runs/<id>/blobs/` (./run_blobs.ts); every write with the `expireIn` its state
 * calls for (./run_lifecycle.ts), and a store limit turned into a `RunError`. `RunService` (./run_service.ts) builds
 * the step protocol (locks, idempotency, cancellation) on these reads and writes; nothing here decides anything.
 *
 * Lifetime (./run_lifecycle.ts). Every write of a run passes an `expireIn` computed from its state, and so does its
 * cancel flag; its blobs live under its own prefix until `blobsUntil` (`commit` pushes that out as the run goes
 * on). A finished run goes `runTtlSeconds` after it ended; an active run nobody steps for `idleRunTtlSeconds` reads
 * as `expired` and goes `runTtlSeconds` later.
 */
export class RunStore {
  readonly #store: StateStore;
  readonly #lifecycle: RunLifecycle;

  constructor(store: StateStore, lifecycle: RunLifecycle) {
    this.#store = store;
    this.#lifecycle = lifecycle;
  }

  #key(runId: string): string {
    return `runs/${runId}`;
  }

  #cancelKey(runId: string): string {
    return `${this.#key(runId)}/cancel`;
  }

  /** Seconds the store keeps a run in this state (and its cancel flag). */
  expireIn(state: AgentState): number {
    return this.#lifecycle.expireIn(state);
  }

  /** A run's record; an abandoned run (see `RunLifecycle.isAbandoned`) comes back as `expired`, never written. */
  async get(runId: string): Promise<LoadedRun | null> {
    if (!RUN_ID.test(runId)) return null;
    const stored = await this.#store.get(this.#key(runId));
    return stored && this.#parse(stored);
  }

  /** The record and whether a cancellation was asked for, in one read. */
  async load(runId: string): Promise<(LoadedRun & { cancelRequested: boolean }) | null> {
    if (!RUN_ID.test(runId)) return null;
    const [stored, cancel] = await this.#store.getMany([this.#key(runId), this.#cancelKey(runId)]);
    return stored && { ...this.#parse(stored), cancelRequested: cancel !== null };
  }

  #parse(stored: StoredValue): LoadedRun {
    const parsed = parseStored(stored);
    const { record } = parsed;
    if (this.#lifecycle.isAbandoned(record.state, record.lock)) {
      record.state = { ...record.state, status: "expired", pendingInput: undefined };
    }
    return parsed;
  }

  /**
   * Writes a record's JSON by compare-and-set (`null`: only if there is none). A store limit becomes
   * `RunError(tooLarge)` (or `store_full`), the stored record unchanged.
   */
  async write(
    runId: string,
    json: string,
    expectedVersion: string | null,
    tooLarge: "task_too_large" | "state_too_large",
    state: AgentState,
  ): Promise<PutResult> {
    try {
      return await this.#store.put(this.#key(runId), json, { expectedVersion, expireIn: this.expireIn(state) });
    } catch (error) {
      if (!(error instanceof StoreLimitError)) throw error;
      if (error.kind === "store_full") {
        throw new RunError("store_full", "The run store is full; try again later.");
      }
      throw new RunError(tooLarge, `The run record does not fit the store: ${error.message}.`);
    }
  }

  /**
   * Commits a step's record over its lock's `version` (null: a new run's); `state_too_large` when its JSON is over `maxBytes`. First,
   * when the record's deadline passes `blobsUntil` (a run active for over `blobSeconds / 2`, or written before blobs
   * expired), every blob it refers to is rewritten under the run's prefix with a new expiry, so no blob expires
   * before the record that relies on it.
   */
  async commit(
    next: RunRecord,
    version: string | null,
    maxBytes: number,
  ): Promise<{ record: RunRecord; put: PutResult }> {
    const lifecycle = this.#lifecycle;
    if (lifecycle.deadline(next.state) > (next.blobsUntil ?? 0)) {
      const blobsUntil = Date.now() + lifecycle.blobSeconds * 1000;
      // Only a record written before blobs were per run (no `blobsUntil` yet) may have its blobs under the shared prefix.
      const shared = next.blobsUntil === undefined ? lifecycle.sharedBlobSeconds : undefined;
      await keepRunBlobs(this.#store, next.runId, encodeRecord(next), lifecycle.blobSeconds, shared);
      next = { ...next, blobsUntil };
    }
    const json = encodeRecord(next);
    const bytes = utf8Length(json);
    if (bytes > maxBytes) {
      throw new RunError(
        "state_too_large",
        `The step would make the run record ${bytes} bytes of JSON; this store keeps at most ${maxBytes}.`,
      );
    }
    return { record: next, put: await this.write(next.runId, json, version, "state_too_large", next.state) };
  }

  /** Replaces the record at `version` with `record` (a small change: failed, cancelled); store limits are thrown. */
  replace(record: RunRecord, version: string): Promise<PutResult> {
    return this.#store.put(this.#key(record.runId), encodeRecord(record), {
      expectedVersion: version,
      expireIn: this.expireIn(record.state),
    });
  }

  /** Puts `stored` (a record's text as read) back over `version`, if that is still the stored one; never throws. */
  async restore(runId: string, stored: string, version: string, state: AgentState): Promise<void> {
    const options = { expectedVersion: version, expireIn: this.expireIn(state) };
    await this.#store.put(this.#key(runId), stored, options).catch(() => {});
  }

  /** Writes the cancel flag, for the step holding the run's lock (or the next one) to apply. */
  async requestCancel(runId: string, state: AgentState): Promise<void> {
    await this.#store.put(this.#cancelKey(runId), String(Date.now()), { expireIn: this.expireIn(state) });
  }

  async cancelRequested(runId: string): Promise<boolean> {
    return (await this.#store.get(this.#cancelKey(runId))) !== null;
  }

  /**
   * Deletes the record, then the cancel flag and the blobs (a delete cut short leaves blobs that expire). A callback
   * mark (./callback_marks.ts: a time, nothing of the run's) is left to expire with the run's TTL.
   */
  async remove(runId: string, stored: string): Promise<void> {
    await this.#store.delete(this.#key(runId));
    await this.#store.delete(this.#cancelKey(runId));
    await deleteRunBlobs(this.#store, runId, stored);
  }
}
