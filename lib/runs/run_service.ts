import type { MultiStepAgent, StepOptions, StepResult } from "../agents/multi_step_agent.ts";
import type { AgentState } from "../memory/agent_state.ts";
import type { RunObserver } from "./run_observer.ts";
import type { StateStore } from "../stores/state_store.ts";
import { BlobStore } from "../stores/blob_store.ts";
import { clipText } from "../text_clip.ts";
import { answerState, remember, replayOf } from "./idempotency.ts";
import { RunBlobStore, SHARED_BLOB_PREFIX } from "./run_blobs.ts";
import { RunLifecycle, type RunLifecycleOptions } from "./run_lifecycle.ts";
import {
  type AgentForRun,
  cancelled,
  encodeRecord,
  type NewRunOptions,
  newRunRecord,
  RunError,
  type RunRecord,
  statusMismatch,
  type StepCallOptions,
  type StepOutcome,
} from "./run_record.ts";
import { type LoadedRun, RunStore } from "./run_store.ts";
import { DEFAULT_LOCK_TTL_MS, defaultStepTimeoutMs, withStepDeadline } from "./step_deadline.ts";
import type { StepShutdown } from "./step_shutdown.ts";

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
 * Round trips: a step reads the record and its cancel flag together (`getMany`), takes the lock, re-reads the flag
 * and commits: 2 reads and 2 writes (per request and store: ARCHITECTURE.md, tests/http/store_round_trips_test.ts).
 * Pass the agent as a function of the record (`(record) => agents[record.agent]`), so nobody reads it first.
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
 * Where a run is kept and for how long (keys, encoding, expiry, blobs): ./run_store.ts. `delete` removes a run,
 * its cancel flag and its blobs at once.
 */

/** A locked step: `operation` (stopping when `signal` aborts) on a run in status `expected`, recorded under `key`. */
interface LockedStep extends Pick<StepCallOptions, "beforeLock"> {
  key?: string;
  expected: "running" | "awaiting_input";
  operation: (state: AgentState, agent: MultiStepAgent, signal: AbortSignal) => Promise<StepResult>;
}

/** Bytes of a store's `maxValueBytes` a committed record leaves free for the lock, a cancellation or a failure. */
export const RECORD_RESERVE_BYTES = 4_096;
/** Longest failure message `fail` stores (it stays within the reserve). */
const MAX_FAILURE_MESSAGE_CHARS = 1_000;
const ACTIVE = new Set(["running", "awaiting_input"]);

export class RunService {
  readonly #store: StateStore;
  readonly #runs: RunStore;
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
  readonly #shutdown: StepShutdown | undefined;
  /** What every step is given: the metrics observer, the spans' provider. */
  readonly #stepDefaults: Pick<StepOptions, "modelObserver" | "tracerProvider">;

  constructor(
    store: StateStore,
    options:
      & {
        lockTtlMs?: number;
        stepTimeoutMs?: number;
        maxRecordBytes?: number;
        /** Told when runs are created and end (metrics). */
        observer?: RunObserver;
        /** Aborts this service's steps when the app stops (a step given a route's deadline is counted there). */
        shutdown?: StepShutdown;
        // Also given to every step: `modelObserver` (metrics) and `tracerProvider` (spans; default the global one).
      }
      & RunLifecycleOptions
      & Pick<StepOptions, "modelObserver" | "tracerProvider"> = {},
  ) {
    this.#store = store;
    this.#observer = options.observer;
    this.#shutdown = options.shutdown;
    this.#stepDefaults = { modelObserver: options.modelObserver, tracerProvider: options.tracerProvider };
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
    this.#runs = new RunStore(store, this.lifecycle);
    // Stateless steps have no run record to keep their blobs alive: each put keeps a blob `sharedBlobSeconds`, and
    // a token records until when its blobs are kept (`blobsUntil`, see lib/http/stateless_steps.ts).
    this.blobs = new BlobStore(store, { prefix: SHARED_BLOB_PREFIX, expireIn: this.lifecycle.sharedBlobSeconds });
  }

  /** One run's blobs (steps write through this; see ./run_blobs.ts). */
  blobsFor(runId: string): BlobStore {
    return new RunBlobStore(this.#store, runId, { expireIn: this.lifecycle.blobSeconds });
  }

  get store(): StateStore {
    return this.#store;
  }

  get lockTtlMs(): number {
    return this.#lockTtlMs;
  }

  async create(
    agent: string,
    state: AgentState,
    options: NewRunOptions = {},
  ): Promise<RunRecord> {
    const { record, json } = this.#newRecord(agent, state, options);
    const result = await this.#runs.write(record.runId, json, null, "task_too_large", state);
    if (!result.ok) throw new Error("Run id collision; try again.");
    this.#observer?.runCreated(agent, options.background ? "background" : "kv");
    return record;
  }

  /**
   * Creates a run with its first step taken: the step runs before anything is written, then the run is written
   * once, stepped (one write where `create` and `step` take 2 reads and 3). Nobody knows the run's id before that,
   * so no lock is needed. A step that fails, or whose caller has gone, writes nothing (its blobs expire).
   */
  async startWithStep(
    name: string,
    state: AgentState,
    agent: MultiStepAgent,
    options: StepCallOptions = {},
  ): Promise<StepOutcome> {
    const { record: fresh } = this.#newRecord(name, state, {}); // task_too_large before the model is asked
    const result = await withStepDeadline(this.stepTimeoutMs, options.signal, async (signal) => {
      try {
        return await agent.step(state, this.#stepOptions(fresh.runId, signal, options.onDelta));
      } catch (error) {
        throw signal.aborted ? signal.reason : error;
      }
    }, this.#shutdown);
    options.signal?.throwIfAborted();
    const stepped = { ...fresh, state: result.state, seq: 1 };
    const { record, put } = await this.#runs.commit(stepped, null, this.maxRecordBytes);
    if (!put.ok) throw new Error("Run id collision; try again.");
    this.#observer?.runCreated(name, "kv");
    if (!ACTIVE.has(record.state.status)) this.#observer?.runEnded(name, record.state.status);
    const { step, events, agent: stepAgent } = result;
    return { record, after: answerState(record.state), step, events, replayed: false, agent: stepAgent };
  }

  /** Throws `task_too_large` where `create` would refuse this run, writing nothing (for a webhook's claim first). */
  checkSize(agent: string, state: AgentState, options: NewRunOptions = {}): void {
    this.#newRecord(agent, state, options);
  }

  #newRecord(agent: string, state: AgentState, options: NewRunOptions) {
    const blobsUntil = Date.now() + this.lifecycle.blobSeconds * 1000;
    return newRunRecord(agent, state, { ...options, blobsUntil }, this.maxRecordBytes);
  }

  /** The record and its stored text; an abandoned run reads as `expired` (computed here, never written). */
  get(runId: string): Promise<LoadedRun | null> {
    return this.#runs.get(runId);
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
    options: StepCallOptions & { idempotencyKey?: string } = {},
  ): Promise<StepOutcome> {
    return this.#locked(runId, agent, options.signal, {
      key: options.idempotencyKey,
      beforeLock: options.beforeLock,
      expected: "running",
      operation: (state, agent, signal) => agent.step(state, this.#stepOptions(runId, signal, options.onDelta)),
    });
  }

  /** Answers a run waiting in `awaiting_input` (approve or reject tool calls, or answer its question). */
  resume(
    runId: string,
    agent: MultiStepAgent | AgentForRun,
    input: unknown,
    options: StepCallOptions = {},
  ): Promise<StepOutcome> {
    return this.#locked(runId, agent, options.signal, {
      beforeLock: options.beforeLock,
      expected: "awaiting_input",
      operation: (state, agent, signal) =>
        agent.resume(state, input, this.#stepOptions(runId, signal, options.onDelta)),
    });
  }

  #stepOptions(runId: string, signal: AbortSignal, onDelta?: StepOptions["onDelta"]): StepOptions {
    return { ...this.#stepDefaults, signal, blobs: this.blobsFor(runId), runId, ...(onDelta ? { onDelta } : {}) };
  }

  /**
   * Asks the run to stop. Returns its status: `cancelled` at once, or unchanged while a step is in flight. An idle
   * run is cancelled with one compare-and-set on its record; only when a step holds the lock (or takes it first)
   * is the cancel flag written, for that step's commit or the next step to apply.
   */
  async cancel(
    runId: string,
    options: {
      /** Told the run this call ended (not a cancel flag, not a run cancelled before): to queue its callback. */
      onCancelled?: (record: RunRecord) => Promise<void>;
    } = {},
  ): Promise<RunRecord> {
    const current = await this.get(runId);
    if (!current) throw new RunError("run_not_found", `No run with id '${runId}'.`);
    const { status } = current.record.state;
    // Cancelling twice is answered like the first time; any other ended run has nothing left to cancel.
    if (status === "cancelled") return current.record;
    if (!ACTIVE.has(status)) {
      throw new RunError("run_finished", `The run has already ended with status '${status}': nothing to cancel.`);
    }
    const ended = await this.#applyCancel(current.record, current.version);
    if (ended) {
      await options.onCancelled?.(ended);
      return ended;
    }
    await this.#runs.requestCancel(runId, current.record.state);
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
      if ((await this.#runs.replace(next, current.version)).ok) {
        this.#observer?.runEnded(next.agent, "failed");
        return next;
      }
    }
    return null;
  }

  /** Ends an idle run `cancelled`; `key`: the step request that applied it, remembered so its retry is answered the same. */
  async #applyCancel(record: RunRecord, version: string, key?: string): Promise<RunRecord | null> {
    if (record.lock && record.lock.expiresAt > Date.now()) return null;
    let next = cancelled(record);
    if (key) next = { ...next, idempotency: remember(record.idempotency, key, { state: next.state, step: null }) };
    if (!(await this.#runs.replace(next, version)).ok) return null;
    this.#observer?.runEnded(record.agent, "cancelled");
    return next;
  }

  async #locked(
    runId: string,
    agent: MultiStepAgent | AgentForRun,
    caller: AbortSignal | undefined,
    step: LockedStep,
  ): Promise<StepOutcome> {
    return await withStepDeadline(this.stepTimeoutMs, caller, async (signal) => {
      signal.throwIfAborted(); // the caller has gone already: not even a read
      if (this.#inFlight.has(runId)) throw this.#busy();
      this.#inFlight.add(runId);
      try {
        return await this.#run(runId, agent, signal, step);
      } finally {
        this.#inFlight.delete(runId);
      }
    }, this.#shutdown);
  }

  async #run(
    runId: string,
    agentFor: MultiStepAgent | AgentForRun,
    signal: AbortSignal,
    { key, expected, operation, beforeLock }: LockedStep,
  ): Promise<StepOutcome> {
    const current = await this.#runs.load(runId);
    if (!current) throw new RunError("run_not_found", `No run with id '${runId}'.`);
    const { record, version } = current;
    const agent = typeof agentFor === "function" ? agentFor(record) : agentFor;
    const replayed = replayOf(record, key);
    if (replayed) return replayed;
    if (record.lock && record.lock.expiresAt > Date.now()) throw this.#busy();
    if (ACTIVE.has(record.state.status) && current.cancelRequested) {
      const ended = await this.#applyCancel(record, version, key);
      if (!ended) throw this.#busy();
      return { record: ended, after: answerState(ended.state), step: null, events: [], replayed: false };
    }
    if (record.state.status !== expected) throw statusMismatch(expected, record.state.status);
    await beforeLock?.(record);

    // A caller that has gone, or a deadline that passed while waiting for the store, takes no lock.
    signal.throwIfAborted();
    const lock = { id: crypto.randomUUID(), expiresAt: Date.now() + this.#lockTtlMs };
    const locked = await this.#runs.write(
      runId,
      encodeRecord({ ...record, lock }),
      version,
      "state_too_large",
      record.state,
    );
    if (!locked.ok) throw this.#busy();
    // Leave the run exactly as it was, byte for byte (re-encoding the parsed record may order keys differently):
    // drop our lock if it is still ours.
    const unlock = () => this.#runs.restore(runId, current.stored, locked.version, record.state);

    let result: StepResult;
    try {
      signal.throwIfAborted(); // the lock write took long enough for the deadline to pass: no model call
      result = await operation(record.state, agent, signal);
    } catch (error) {
      await unlock();
      // An abandoned step fails with why it stopped, whatever the agent made of the abort (a model error, say).
      throw signal.aborted ? signal.reason : error;
    }
    let next: RunRecord = { ...record, state: result.state, lock: null, seq: record.seq + 1 };
    let committed;
    try {
      // A cancellation asked for during the step ends the run in this very commit (no write of its own).
      if (ACTIVE.has(next.state.status) && await this.#runs.cancelRequested(runId)) next = cancelled(next);
      // The key keeps the run as this commit leaves it (cancelled, say), which is what the step's answer shows.
      next = { ...next, idempotency: remember(record.idempotency, key, result, next.state) };
      ({ record: next, put: committed } = await this.#runs.commit(next, locked.version, this.maxRecordBytes));
    } catch (error) {
      // Whatever failed (the cancel flag's read, the commit), the lock is given back.
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
    const { step, events, agent: stepAgent } = result;
    return { record: next, after: answerState(next.state), step, events, replayed: false, agent: stepAgent };
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
    const json = JSON.stringify({ ...JSON.parse(stored), lock });
    const locked = await this.#runs.write(runId, json, version, "state_too_large", record.state);
    if (!locked.ok) throw this.#busy();
    // The record's delete refused: the run as it was, unlocked (a delete cut after it leaves nothing to give back).
    await this.#runs.remove(runId, stored).catch(async (error) => {
      await this.#runs.restore(runId, stored, locked.version, record.state);
      throw error;
    });
  }

  #busy(): RunError {
    return new RunError("step_in_progress", "Another step of this run is in progress; retry when it has finished.");
  }
}
