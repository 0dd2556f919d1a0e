import type { AgentEvent } from "../agents/agent_events.ts";
import type { MultiStepAgent, StepResult } from "../agents/multi_step_agent.ts";
import { type AgentState, parseAgentState } from "../memory/agent_state.ts";
import type { StepRecord } from "../memory/step_records.ts";
import type { StateStore } from "../stores/state_store.ts";
import { BlobStore } from "../stores/blob_store.ts";

/**
 * KV-mode run lifecycle over a `StateStore`.
 *
 * A step takes the run's lock with a compare-and-set write, runs, and commits the new state with a second
 * compare-and-set against the locked version. A concurrent step sees the lock (409); a step whose process dies
 * leaves a lock that expires after `lockTtlMs`, and the run stays at the previous step. Idempotency keys are kept in
 * the run record, so a retried request returns the recorded step instead of running another one. A cancellation
 * is written under its own key, so it never collides with a step in flight; the next step (or the commit of the
 * current one) turns it into the `cancelled` status.
 */

/** What the store holds per run (JSON). */
export interface RunRecord {
  runId: string;
  agent: string;
  state: AgentState;
  /**
   * Idempotency key -> what the step produced (most recent last, bounded): its index in `state.steps`, or, for a
   * managed agent's step (which lives in the nested sub-run and goes away with it), a copy of the record.
   */
  idempotency: Array<[key: string, step: number | StepRecord]>;
  lock: { id: string; expiresAt: number } | null;
  /**
   * Steps committed so far, managed agents' steps included (they do not add records to `state.steps`). Background
   * messages carry it, so each delivery can run at most the one step it was sent for.
   */
  seq: number;
  /** Stepped by the queue rather than by the caller. */
  background?: boolean;
  /** Where the final result is POSTed (signed) when the run ends. */
  callbackUrl?: string;
}

export type RunErrorCode = "run_not_found" | "run_finished" | "step_in_progress" | "step_lost" | "not_awaiting_input";

export class RunError extends Error {
  override name = "RunError";
  constructor(readonly code: RunErrorCode, message: string) {
    super(message);
  }
}

export interface StepOutcome {
  record: RunRecord;
  /** The step record produced (or replayed); null when the step only applied a pending cancellation. */
  step: StepRecord | null;
  events: AgentEvent[];
  /** True when the idempotency key matched an earlier step and nothing ran. */
  replayed: boolean;
  /** Which agent took the step (`manager/researcher` for a managed agent's step); absent when nothing ran. */
  agent?: string;
}

type Operation = (state: AgentState) => Promise<StepResult>;

const MAX_IDEMPOTENCY_KEYS = 50;
const ACTIVE = new Set(["running", "awaiting_input"]);

export class RunService {
  readonly #store: StateStore;
  readonly #lockTtlMs: number;
  /** Media tool outputs of this store's runs, content-addressed beside them. */
  readonly blobs: BlobStore;
  /** Runs stepping in this isolate: a cheap first line of defence, and the only one for non-atomic stores. */
  readonly #inFlight = new Set<string>();

  constructor(store: StateStore, options: { lockTtlMs?: number } = {}) {
    this.#store = store;
    this.#lockTtlMs = options.lockTtlMs ?? 5 * 60_000;
    this.blobs = new BlobStore(store);
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

  async create(
    agent: string,
    state: AgentState,
    options: { background?: boolean; callbackUrl?: string } = {},
  ): Promise<RunRecord> {
    const record: RunRecord = {
      runId: crypto.randomUUID(),
      agent,
      state,
      idempotency: [],
      lock: null,
      seq: 0,
      ...options,
    };
    const result = await this.#store.put(this.#key(record.runId), JSON.stringify(record), { expectedVersion: null });
    if (!result.ok) throw new Error("Run id collision; try again.");
    return record;
  }

  /** `stored` is the record's text as stored, for putting it back byte for byte. */
  async get(runId: string): Promise<{ record: RunRecord; version: string; stored: string } | null> {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(runId)) return null;
    const stored = await this.#store.get(this.#key(runId));
    if (!stored) return null;
    const raw = JSON.parse(stored.value) as RunRecord;
    const record = { ...raw, seq: raw.seq ?? 0, state: parseAgentState(raw.state) };
    return { record, version: stored.version, stored: stored.value };
  }

  /** Runs exactly one step of the run with `agent`, or replays the step recorded under `idempotencyKey`. */
  step(
    runId: string,
    agent: MultiStepAgent,
    options: { idempotencyKey?: string; signal?: AbortSignal } = {},
  ): Promise<StepOutcome> {
    return this.#locked(
      runId,
      options.idempotencyKey,
      "running",
      (state) => agent.step(state, { signal: options.signal, blobs: this.blobs }),
    );
  }

  /** Answers a run waiting in `awaiting_input` (approve or reject tool calls, or answer its question). */
  resume(runId: string, agent: MultiStepAgent, input: unknown, options: { signal?: AbortSignal } = {}) {
    return this.#locked(
      runId,
      undefined,
      "awaiting_input",
      (state) => agent.resume(state, input, { signal: options.signal, blobs: this.blobs }),
    );
  }

  /** Asks the run to stop. Returns its status: `cancelled` at once, or unchanged while a step is in flight. */
  async cancel(runId: string): Promise<RunRecord> {
    const current = await this.get(runId);
    if (!current) throw new RunError("run_not_found", `No run with id '${runId}'.`);
    if (!ACTIVE.has(current.record.state.status)) return current.record;
    await this.#store.put(`${this.#key(runId)}/cancel`, String(Date.now()));
    return await this.#applyCancel(current.record, current.version) ?? current.record;
  }

  /** Ends a run as `failed` (used when background attempts are exhausted). */
  async fail(runId: string, error: { type: string; message: string }): Promise<RunRecord | null> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.get(runId);
      if (!current || !ACTIVE.has(current.record.state.status)) return current?.record ?? null;
      const state: AgentState = { ...current.record.state, status: "failed", error, updatedAt: Date.now() };
      const next = { ...current.record, state, lock: null };
      const written = await this.#store.put(this.#key(runId), JSON.stringify(next), {
        expectedVersion: current.version,
      });
      if (written.ok) return next;
    }
    return null;
  }

  async #applyCancel(record: RunRecord, version: string): Promise<RunRecord | null> {
    if (record.lock && record.lock.expiresAt > Date.now()) return null;
    const state: AgentState = { ...record.state, status: "cancelled", pendingInput: undefined, updatedAt: Date.now() };
    const next: RunRecord = { ...record, state, lock: null };
    const written = await this.#store.put(this.#key(record.runId), JSON.stringify(next), { expectedVersion: version });
    return written.ok ? next : null;
  }

  async #cancelRequested(runId: string): Promise<boolean> {
    return (await this.#store.get(`${this.#key(runId)}/cancel`)) !== null;
  }

  async #locked(
    runId: string,
    idempotencyKey: string | undefined,
    expectedStatus: "running" | "awaiting_input",
    operation: Operation,
  ): Promise<StepOutcome> {
    if (this.#inFlight.has(runId)) throw this.#busy();
    this.#inFlight.add(runId);
    try {
      return await this.#run(runId, idempotencyKey, expectedStatus, operation);
    } finally {
      this.#inFlight.delete(runId);
    }
  }

  async #run(
    runId: string,
    idempotencyKey: string | undefined,
    expectedStatus: "running" | "awaiting_input",
    operation: Operation,
  ): Promise<StepOutcome> {
    const current = await this.get(runId);
    if (!current) throw new RunError("run_not_found", `No run with id '${runId}'.`);
    const { record, version } = current;
    const replay = idempotencyKey ? record.idempotency.find(([key]) => key === idempotencyKey) : undefined;
    if (replay) {
      const step = typeof replay[1] === "number" ? record.state.steps[replay[1]] : replay[1];
      return { record, step, events: [], replayed: true };
    }
    if (record.lock && record.lock.expiresAt > Date.now()) throw this.#busy();
    if (ACTIVE.has(record.state.status) && await this.#cancelRequested(runId)) {
      const cancelled = await this.#applyCancel(record, version);
      if (!cancelled) throw this.#busy();
      return { record: cancelled, step: null, events: [], replayed: false };
    }
    if (record.state.status !== expectedStatus) {
      if (expectedStatus === "awaiting_input") {
        throw new RunError("not_awaiting_input", `The run is '${record.state.status}', not waiting for input.`);
      }
      const waiting = record.state.status === "awaiting_input";
      throw new RunError(
        waiting ? "not_awaiting_input" : "run_finished",
        waiting
          ? "The run is waiting for input: answer it with POST /v1/runs/{runId}/input."
          : `The run has already ended with status '${record.state.status}'.`,
      );
    }

    const lock = { id: crypto.randomUUID(), expiresAt: Date.now() + this.#lockTtlMs };
    const locked = await this.#store.put(this.#key(runId), JSON.stringify({ ...record, lock }), {
      expectedVersion: version,
    });
    if (!locked.ok) throw this.#busy();

    let result: StepResult;
    try {
      result = await operation(record.state);
    } catch (error) {
      // Leave the run exactly as it was, byte for byte (the parsed record may order keys differently): drop our lock
      // if it is still ours.
      await this.#store.put(this.#key(runId), current.stored, { expectedVersion: locked.version })
        .catch(() => {});
      throw error;
    }
    const stepIndex = result.state.steps.indexOf(result.step);
    const produced: number | StepRecord = stepIndex >= 0 ? stepIndex : result.step;
    const idempotency = idempotencyKey
      ? [...record.idempotency, [idempotencyKey, produced] as RunRecord["idempotency"][number]].slice(
        -MAX_IDEMPOTENCY_KEYS,
      )
      : record.idempotency;
    let next: RunRecord = { ...record, state: result.state, idempotency, lock: null, seq: record.seq + 1 };
    const committed = await this.#store.put(this.#key(runId), JSON.stringify(next), {
      expectedVersion: locked.version,
    });
    if (!committed.ok) {
      throw new RunError("step_lost", "The step's lock expired and another step took over; this step was discarded.");
    }
    if (ACTIVE.has(next.state.status) && await this.#cancelRequested(runId)) {
      next = await this.#applyCancel(next, committed.version) ?? next;
    }
    return { record: next, step: result.step, events: result.events, replayed: false, agent: result.agent };
  }

  #busy(): RunError {
    return new RunError("step_in_progress", "Another step of this run is in progress; retry when it has finished.");
  }
}
