import type { MultiStepAgent, StepResult } from "../agents/multi_step_agent.ts";
import type { AgentState } from "../memory/agent_state.ts";
import type { StepRecord } from "../memory/step_records.ts";
import type { ModelObserver } from "../models/model_observer.ts";
import type { RunObserver } from "./run_observer.ts";
import type { StateStore, StoredValue } from "../stores/state_store.ts";
import { BlobStore } from "../stores/blob_store.ts";
import { StoreLimitError, utf8Length } from "../stores/store_limit_error.ts";
import { clipText } from "../text_clip.ts";
import { deleteRunBlobs, keepRunBlobs, RunBlobStore, SHARED_BLOB_PREFIX } from "./run_blobs.ts";
import { RunLifecycle, type RunLifecycleOptions } from "./run_lifecycle.ts";
import {
  cancelled,
  encodeRecord,
  newRunRecord,
  parseStored,
  RunError,
  type RunRecord,
  statusMismatch,
  type StepOutcome,
} from "./run_record.ts";
import { DEFAULT_LOCK_TTL_MS, defaultStepTimeoutMs, withStepDeadline } from "./step_deadline.ts";

/**
 * KV-mode run lifecycle over a `StateStore`.
 *
 * A step takes the run's lock with a compare-and-set write, runs, and commits the new state with a second
 * compare-and-set against the locked version. A concurrent step sees the lock (409); a step whose process dies
 * leaves a lock that expires after `lockTtlMs`, and the run stays at the previous step. Idempotency keys are kept in
 * the run record, so a retried request returns the recorded step instead of running another one. A cancellation
 * of an idle run is written into its record at once; while a step holds the lock it is written under its own key
 * (`runs/<id>/cancel`), so it never collides with the step in flight, and the commit of that step (or the next
 * step) turns it into the `cancelled` status.
 *
 * Round trips. A step (or an answer to a question) reads the record and its cancel flag together (`getMany`: one
 * read), takes the lock (one compare-and-set), runs, reads the cancel flag once more, and commits (one
 * compare-and-set, which writes `cancelled` at once when a cancellation came in meanwhile): 2 reads and 2 writes.
 * A replayed step is 1 read; a step that only applies a pending cancellation 1 read and 1 write; a failed step
 * 1 read and 2 writes (the lock, then the record put back). `cancel` is 1 read and 1 write (2 writes when a step
 * takes the lock between the two). Pass the agent as a function of the record (`(record) => agents[record.agent]`)
 * so the caller need not read the record first.
 *
 * Size. A run is one record, so it must fit the store's `maxValueBytes` (Deno KV 720,000 bytes; Workers KV and
 * Durable Objects 25 MiB; MemoryStore 720,000 by default). `maxRecordBytes` keeps {@link RECORD_RESERVE_BYTES}
 * of that free, so the lock, a cancellation or a failure can always be written over a record that fits. A new
 * run may use at most half of `maxRecordBytes` (the rest is for its steps), else `create` refuses it with
 * `task_too_large` before writing anything. The task is stored once (`packState`). Agents keep each step small
 * (long texts go to blobs, see lib/memory/large_observations.ts; CodeAgent drops oversized variables); if a
 * commit still does not fit, the step is discarded: the lock is released, the run stays exactly at its previous
 * step, and the step fails with `state_too_large`.
 *
 * Lifetime (./run_lifecycle.ts). Every write of a run passes an `expireIn` computed from its state, and so does its
 * cancel flag; its blobs live under its own prefix (./run_blobs.ts) until `blobsUntil`. A finished run goes
 * `runTtlSeconds` after it ended; an active run nobody steps for `idleRunTtlSeconds` reads as `expired` and goes
 * `runTtlSeconds` later. `delete` removes a run, its cancel flag and its blobs at once.
 */

/** The agent that steps a run, chosen from its record (it may throw, e.g. for an unknown agent: nothing is written). */
export type AgentForRun = (record: RunRecord) => MultiStepAgent;

/** One step on `state`, stopping when `signal` aborts (the caller went away or the step's deadline passed). */
type Operation = (state: AgentState, agent: MultiStepAgent, signal: AbortSignal) => Promise<StepResult>;

const MAX_IDEMPOTENCY_KEYS = 50;
/** Bytes of a store's `maxValueBytes` a committed record leaves free for the lock, a cancellation or a failure. */
export const RECORD_RESERVE_BYTES = 4_096;
/** Longest failure message `fail` stores (it stays within the reserve). */
const MAX_FAILURE_MESSAGE_CHARS = 1_000;
const ACTIVE = new Set(["running", "awaiting_input"]);

export class RunService {
  readonly #store: StateStore;
  readonly #lockTtlMs: number;
  /** How long a step may take, model retries included; shorter than the lock (see lib/runs/step_deadline.ts). */
  readonly stepTimeoutMs: number;
  /** Largest record a step may commit (UTF-8 bytes of its JSON); see the class comment. */
  readonly maxRecordBytes: number;
  /** Media tool outputs of this store's runs, content-addressed beside them. */
  readonly blobs: BlobStore;
  /** Runs stepping in this isolate: a cheap first line of defence, and the only one for non-atomic stores. */
  readonly #inFlight = new Set<string>();
  /** How long runs, their cancel flags and their blobs are kept. */
  readonly lifecycle: RunLifecycle;
  readonly #observer: RunObserver | undefined;
  readonly #modelObserver: ModelObserver | undefined;

  constructor(
    store: StateStore,
    options: {
      lockTtlMs?: number;
      stepTimeoutMs?: number;
      maxRecordBytes?: number;
      /** Told when runs are created and end (metrics). */
      observer?: RunObserver;
      /** Given to every step's model calls (metrics). */
      modelObserver?: ModelObserver;
    } & RunLifecycleOptions = {},
  ) {
    this.#store = store;
    this.#observer = options.observer;
    this.#modelObserver = options.modelObserver;
    this.#lockTtlMs = options.lockTtlMs ?? DEFAULT_LOCK_TTL_MS;
    this.stepTimeoutMs = options.stepTimeoutMs ?? defaultStepTimeoutMs(this.#lockTtlMs);
    if (!(this.stepTimeoutMs > 0 && this.stepTimeoutMs < this.#lockTtlMs)) {
      throw new RangeError(
        `stepTimeoutMs (${this.stepTimeoutMs}) must be positive and shorter than lockTtlMs (${this.#lockTtlMs}), ` +
          "so a step always ends while it holds its lock.",
      );
    }
    const ceiling = store.maxValueBytes - RECORD_RESERVE_BYTES;
    this.maxRecordBytes = Math.min(options.maxRecordBytes ?? ceiling, ceiling);
    this.lifecycle = new RunLifecycle(options);
    // Stateless steps have no run record to keep their blobs alive: each put keeps a blob `blobSeconds` (twice a
    // KV run's longest idle life), so a stateless run continued longer than that may find its oldest blobs gone.
    this.blobs = new BlobStore(store, { prefix: SHARED_BLOB_PREFIX, expireIn: this.lifecycle.blobSeconds });
  }

  /** One run's blobs (steps write through this; see ./run_blobs.ts). */
  blobsFor(runId: string): BlobStore {
    return new RunBlobStore(this.#store, runId, { expireIn: this.lifecycle.blobSeconds });
  }

  /** Seconds the store keeps a run in this state (and its cancel flag). */
  #expireIn(state: AgentState): number {
    return this.lifecycle.expireIn(state);
  }

  get store(): StateStore {
    return this.#store;
  }

  get lockTtlMs(): number {
    return this.#lockTtlMs;
  }

  #key(runId: string): string {
    return `runs/${runId}`;
  }

  #cancelKey(runId: string): string {
    return `${this.#key(runId)}/cancel`;
  }

  async create(
    agent: string,
    state: AgentState,
    options: { background?: boolean; callbackUrl?: string } = {},
  ): Promise<RunRecord> {
    const { record, json } = this.#newRecord(agent, state, options);
    const result = await this.#put(record.runId, json, null, "task_too_large", this.#expireIn(state));
    if (!result.ok) throw new Error("Run id collision; try again.");
    this.#observer?.runCreated(agent, options.background ? "background" : "kv");
    return record;
  }

  /**
   * Throws `task_too_large` when `create` would refuse this run for its size, without writing anything: for
   * callers that write something of their own first (a webhook's delivery marker).
   */
  checkSize(agent: string, state: AgentState, options: { background?: boolean; callbackUrl?: string } = {}): void {
    this.#newRecord(agent, state, options);
  }

  #newRecord(agent: string, state: AgentState, options: { background?: boolean; callbackUrl?: string }) {
    const blobsUntil = Date.now() + this.lifecycle.blobSeconds * 1000;
    return newRunRecord(agent, state, { ...options, blobsUntil }, this.maxRecordBytes);
  }

  /** Writes a run record; a store limit becomes `RunError(tooLarge)` (or `store_full`), the record unchanged. */
  async #put(
    runId: string,
    json: string,
    expectedVersion: string | null,
    tooLarge: "task_too_large" | "state_too_large",
    expireIn: number,
  ) {
    try {
      return await this.#store.put(this.#key(runId), json, { expectedVersion, expireIn });
    } catch (error) {
      if (!(error instanceof StoreLimitError)) throw error;
      if (error.kind === "store_full") {
        throw new RunError("store_full", "The run store is full; try again later.");
      }
      throw new RunError(tooLarge, `The run record does not fit the store: ${error.message}.`);
    }
  }

  /**
   * `stored` is the record's text as stored, for putting it back byte for byte. An abandoned run (active, idle past
   * `idleRunTtlSeconds`, no step in flight) comes back as status `expired`: computed here, never written.
   */
  async get(runId: string): Promise<{ record: RunRecord; version: string; stored: string } | null> {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(runId)) return null;
    const stored = await this.#store.get(this.#key(runId));
    return stored && this.#parse(stored);
  }

  /** A stored record, parsed; an abandoned run (see `get`) comes back as `expired`. */
  #parse(stored: StoredValue): { record: RunRecord; version: string; stored: string } {
    const parsed = parseStored(stored);
    const { record } = parsed;
    if (this.lifecycle.isAbandoned(record.state, record.lock)) {
      record.state = { ...record.state, status: "expired", pendingInput: undefined };
    }
    return parsed;
  }

  /** The record and whether a cancellation was asked for, in one read; see the class comment. */
  async #load(runId: string) {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(runId)) return null;
    const [stored, cancel] = await this.#store.getMany([this.#key(runId), this.#cancelKey(runId)]);
    return stored && { ...this.#parse(stored), cancelRequested: cancel !== null };
  }

  /**
   * Runs exactly one step of the run with `agent`, or replays the step recorded under `idempotencyKey`. `agent`
   * may be a function of the run's record, called once the record is read and before anything is written. The step
   * stops when `signal` aborts or after `stepTimeoutMs`: it then takes no lock, or gives it back with the run
   * unchanged, and throws the signal's reason (a `StepTimeoutError` for the deadline).
   */
  step(
    runId: string,
    agent: MultiStepAgent | AgentForRun,
    options: { idempotencyKey?: string; signal?: AbortSignal } = {},
  ): Promise<StepOutcome> {
    return this.#locked(
      runId,
      agent,
      options.idempotencyKey,
      "running",
      options.signal,
      (state, agent, signal) =>
        agent.step(state, { signal, blobs: this.blobsFor(runId), modelObserver: this.#modelObserver }),
    );
  }

  /** Answers a run waiting in `awaiting_input` (approve or reject tool calls, or answer its question). */
  resume(
    runId: string,
    agent: MultiStepAgent | AgentForRun,
    input: unknown,
    options: { signal?: AbortSignal } = {},
  ): Promise<StepOutcome> {
    return this.#locked(
      runId,
      agent,
      undefined,
      "awaiting_input",
      options.signal,
      (state, agent, signal) =>
        agent.resume(state, input, { signal, blobs: this.blobsFor(runId), modelObserver: this.#modelObserver }),
    );
  }

  /**
   * Asks the run to stop. Returns its status: `cancelled` at once, or unchanged while a step is in flight. An idle
   * run is cancelled with one compare-and-set on its record; only when a step holds the lock (or takes it first)
   * is the cancel flag written, for that step's commit or the next step to apply.
   */
  async cancel(runId: string): Promise<RunRecord> {
    const current = await this.get(runId);
    if (!current) throw new RunError("run_not_found", `No run with id '${runId}'.`);
    const { status } = current.record.state;
    // Cancelling twice is answered like the first time; any other ended run has nothing left to cancel.
    if (status === "cancelled") return current.record;
    if (!ACTIVE.has(status)) {
      throw new RunError("run_finished", `The run has already ended with status '${status}': nothing to cancel.`);
    }
    const ended = await this.#applyCancel(current.record, current.version);
    if (ended) return ended;
    await this.#store.put(this.#cancelKey(runId), String(Date.now()), {
      expireIn: this.#expireIn(current.record.state),
    });
    return current.record;
  }

  /** Ends a run as `failed` (used when background attempts are exhausted). */
  async fail(runId: string, error: { type: string; message: string }): Promise<RunRecord | null> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.get(runId);
      if (!current || !ACTIVE.has(current.record.state.status)) return current?.record ?? null;
      const clipped = { type: error.type, message: clipText(error.message, MAX_FAILURE_MESSAGE_CHARS) };
      const state: AgentState = { ...current.record.state, status: "failed", error: clipped, updatedAt: Date.now() };
      const next = { ...current.record, state, lock: null };
      const written = await this.#store.put(this.#key(runId), encodeRecord(next), {
        expectedVersion: current.version,
        expireIn: this.#expireIn(state),
      });
      if (written.ok) {
        this.#observer?.runEnded(next.agent, "failed");
        return next;
      }
    }
    return null;
  }

  async #applyCancel(record: RunRecord, version: string): Promise<RunRecord | null> {
    if (record.lock && record.lock.expiresAt > Date.now()) return null;
    const next = cancelled(record);
    const written = await this.#store.put(this.#key(record.runId), encodeRecord(next), {
      expectedVersion: version,
      expireIn: this.#expireIn(next.state),
    });
    if (!written.ok) return null;
    this.#observer?.runEnded(record.agent, "cancelled");
    return next;
  }

  async #cancelRequested(runId: string): Promise<boolean> {
    return (await this.#store.get(this.#cancelKey(runId))) !== null;
  }

  async #locked(
    runId: string,
    agent: MultiStepAgent | AgentForRun,
    idempotencyKey: string | undefined,
    expectedStatus: "running" | "awaiting_input",
    caller: AbortSignal | undefined,
    operation: Operation,
  ): Promise<StepOutcome> {
    return await withStepDeadline(this.stepTimeoutMs, caller, async (signal) => {
      signal.throwIfAborted(); // the caller has gone already: not even a read
      if (this.#inFlight.has(runId)) throw this.#busy();
      this.#inFlight.add(runId);
      try {
        return await this.#run(runId, agent, idempotencyKey, expectedStatus, signal, operation);
      } finally {
        this.#inFlight.delete(runId);
      }
    });
  }

  async #run(
    runId: string,
    agentFor: MultiStepAgent | AgentForRun,
    idempotencyKey: string | undefined,
    expectedStatus: "running" | "awaiting_input",
    signal: AbortSignal,
    operation: Operation,
  ): Promise<StepOutcome> {
    const current = await this.#load(runId);
    if (!current) throw new RunError("run_not_found", `No run with id '${runId}'.`);
    const { record, version } = current;
    const agent = typeof agentFor === "function" ? agentFor(record) : agentFor;
    const replay = idempotencyKey ? record.idempotency.find(([key]) => key === idempotencyKey) : undefined;
    if (replay) {
      const step = typeof replay[1] === "number" ? record.state.steps[replay[1]] : replay[1];
      return { record, step, events: [], replayed: true, agent: replay[2] };
    }
    if (record.lock && record.lock.expiresAt > Date.now()) throw this.#busy();
    if (ACTIVE.has(record.state.status) && current.cancelRequested) {
      const ended = await this.#applyCancel(record, version);
      if (!ended) throw this.#busy();
      return { record: ended, step: null, events: [], replayed: false };
    }
    if (record.state.status !== expectedStatus) throw statusMismatch(expectedStatus, record.state.status);

    // A caller that has gone, or a deadline that passed while waiting for the store, takes no lock.
    signal.throwIfAborted();
    const lock = { id: crypto.randomUUID(), expiresAt: Date.now() + this.#lockTtlMs };
    const expireIn = this.#expireIn(record.state);
    const locked = await this.#put(runId, encodeRecord({ ...record, lock }), version, "state_too_large", expireIn);
    if (!locked.ok) throw this.#busy();
    // Leave the run exactly as it was, byte for byte (re-encoding the parsed record may order keys differently):
    // drop our lock if it is still ours.
    const unlock = () =>
      this.#store.put(this.#key(runId), current.stored, { expectedVersion: locked.version, expireIn }).catch(() => {});

    let result: StepResult;
    try {
      signal.throwIfAborted(); // the lock write took long enough for the deadline to pass: no model call
      result = await operation(record.state, agent, signal);
    } catch (error) {
      await unlock();
      // An abandoned step fails with why it stopped, whatever the agent made of the abort (a model error, say).
      throw signal.aborted ? signal.reason : error;
    }
    const stepIndex = result.state.steps.indexOf(result.step);
    const produced: number | StepRecord = stepIndex >= 0 ? stepIndex : result.step;
    const idempotency = idempotencyKey
      ? [...record.idempotency, [idempotencyKey, produced, result.agent] as RunRecord["idempotency"][number]].slice(
        -MAX_IDEMPOTENCY_KEYS,
      )
      : record.idempotency;
    let next: RunRecord = { ...record, state: result.state, idempotency, lock: null, seq: record.seq + 1 };
    // A cancellation asked for during the step ends the run in this very commit (no write of its own).
    if (ACTIVE.has(next.state.status) && await this.#cancelRequested(runId)) next = cancelled(next);
    next = await this.#keepBlobs(next).catch(async (error) => {
      await unlock();
      throw error;
    });
    const json = encodeRecord(next);
    const bytes = utf8Length(json);
    let committed;
    try {
      if (bytes > this.maxRecordBytes) {
        throw new RunError(
          "state_too_large",
          `The step would make the run record ${bytes} bytes of JSON; this store keeps at most ${this.maxRecordBytes}.`,
        );
      }
      committed = await this.#put(runId, json, locked.version, "state_too_large", this.#expireIn(next.state));
    } catch (error) {
      await unlock();
      if (!(error instanceof RunError)) throw error;
      throw new RunError(
        error.code,
        `${error.message} The step was discarded and the run is unchanged at its previous step; a retry runs the ` +
          "step again (and calls the model again).",
      );
    }
    if (!committed.ok) {
      throw new RunError("step_lost", "The step's lock expired and another step took over; this step was discarded.");
    }
    if (!ACTIVE.has(next.state.status)) this.#observer?.runEnded(next.agent, next.state.status);
    return { record: next, step: result.step, events: result.events, replayed: false, agent: result.agent };
  }

  /**
   * Deletes the run, its cancel flag and its blobs. Refused with `step_in_progress` while a step holds the run:
   * the run's lock is taken first, like a step's, so no step can start (or commit) while the run goes. The record
   * goes first, so a delete cut short leaves blobs no record refers to, and they expire.
   */
  async delete(runId: string): Promise<void> {
    const current = await this.get(runId);
    if (!current) throw new RunError("run_not_found", `No run with id '${runId}'.`);
    const { record, version, stored } = current;
    if (this.#inFlight.has(runId) || (record.lock && record.lock.expiresAt > Date.now())) throw this.#busy();
    const lock = { id: crypto.randomUUID(), expiresAt: Date.now() + this.#lockTtlMs };
    // The stored record with our lock, not `record`: that may carry the `expired` status `get` computed.
    const locked = await this.#store.put(this.#key(runId), JSON.stringify({ ...JSON.parse(stored), lock }), {
      expectedVersion: version,
      expireIn: this.#expireIn(record.state),
    });
    if (!locked.ok) throw this.#busy();
    await this.#store.delete(this.#key(runId));
    await this.#store.delete(`${this.#key(runId)}/cancel`);
    await deleteRunBlobs(this.#store, runId, stored);
  }

  /**
   * Keeps the blobs of `next` at least as long as `next` itself: when its deadline passes `blobsUntil` (a run
   * active for over `blobSeconds / 2`, or written before blobs expired), every blob it refers to is rewritten
   * under the run's prefix with a new expiry, before the record that relies on it is committed.
   */
  async #keepBlobs(next: RunRecord): Promise<RunRecord> {
    if (this.lifecycle.deadline(next.state) <= (next.blobsUntil ?? 0)) return next;
    const blobsUntil = Date.now() + this.lifecycle.blobSeconds * 1000;
    await keepRunBlobs(this.#store, next.runId, encodeRecord(next), this.lifecycle.blobSeconds);
    return { ...next, blobsUntil };
  }

  #busy(): RunError {
    return new RunError("step_in_progress", "Another step of this run is in progress; retry when it has finished.");
  }
}
