import type { AgentEvent } from "../agents/agent_events.ts";
import type { MultiStepAgent } from "../agents/multi_step_agent.ts";
import { type AgentState, parseAgentState } from "../memory/agent_state.ts";
import type { StepRecord } from "../memory/step_records.ts";
import type { StateStore } from "../stores/state_store.ts";

/**
 * KV-mode run lifecycle over a `StateStore`.
 *
 * A step takes the run's lock with a compare-and-set write, runs, and commits the new state with a second
 * compare-and-set against the locked version. A concurrent step sees the lock (409); a step whose process dies
 * leaves a lock that expires after `lockTtlMs`, and the run stays at the previous step. Idempotency keys are kept in
 * the run record, so a retried request returns the recorded step instead of running another one.
 */

/** What the store holds per run (JSON). */
export interface RunRecord {
  runId: string;
  agent: string;
  state: AgentState;
  /** Idempotency key -> index in `state.steps` of the step it produced (most recent last, bounded). */
  idempotency: Array<[key: string, stepIndex: number]>;
  lock: { id: string; expiresAt: number } | null;
}

export type RunErrorCode = "run_not_found" | "run_finished" | "step_in_progress" | "step_lost";

export class RunError extends Error {
  override name = "RunError";
  constructor(readonly code: RunErrorCode, message: string) {
    super(message);
  }
}

export interface StepOutcome {
  record: RunRecord;
  step: StepRecord;
  events: AgentEvent[];
  /** True when the idempotency key matched an earlier step and nothing ran. */
  replayed: boolean;
}

const MAX_IDEMPOTENCY_KEYS = 50;

export class RunService {
  readonly #store: StateStore;
  readonly #lockTtlMs: number;
  /** Runs stepping in this isolate: a cheap first line of defence, and the only one for non-atomic stores. */
  readonly #inFlight = new Set<string>();

  constructor(store: StateStore, options: { lockTtlMs?: number } = {}) {
    this.#store = store;
    this.#lockTtlMs = options.lockTtlMs ?? 5 * 60_000;
  }

  #key(runId: string): string {
    return `runs/${runId}`;
  }

  async create(agent: string, state: AgentState): Promise<RunRecord> {
    const record: RunRecord = { runId: crypto.randomUUID(), agent, state, idempotency: [], lock: null };
    const result = await this.#store.put(this.#key(record.runId), JSON.stringify(record), { expectedVersion: null });
    if (!result.ok) throw new Error("Run id collision; try again.");
    return record;
  }

  async get(runId: string): Promise<{ record: RunRecord; version: string } | null> {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(runId)) return null;
    const stored = await this.#store.get(this.#key(runId));
    if (!stored) return null;
    const raw = JSON.parse(stored.value) as RunRecord;
    return { record: { ...raw, state: parseAgentState(raw.state) }, version: stored.version };
  }

  /** Runs exactly one step of the run with `agent`, or replays the step recorded under `idempotencyKey`. */
  async step(
    runId: string,
    agent: MultiStepAgent,
    options: { idempotencyKey?: string; signal?: AbortSignal } = {},
  ): Promise<StepOutcome> {
    if (this.#inFlight.has(runId)) throw this.#busy();
    this.#inFlight.add(runId);
    try {
      return await this.#step(runId, agent, options);
    } finally {
      this.#inFlight.delete(runId);
    }
  }

  async #step(
    runId: string,
    agent: MultiStepAgent,
    { idempotencyKey, signal }: { idempotencyKey?: string; signal?: AbortSignal },
  ): Promise<StepOutcome> {
    const current = await this.get(runId);
    if (!current) throw new RunError("run_not_found", `No run with id '${runId}'.`);
    const { record, version } = current;
    const replay = idempotencyKey ? record.idempotency.find(([key]) => key === idempotencyKey) : undefined;
    if (replay) return { record, step: record.state.steps[replay[1]], events: [], replayed: true };
    if (record.state.status !== "running") {
      throw new RunError("run_finished", `The run has already ended with status '${record.state.status}'.`);
    }
    if (record.lock && record.lock.expiresAt > Date.now()) throw this.#busy();

    const lock = { id: crypto.randomUUID(), expiresAt: Date.now() + this.#lockTtlMs };
    const locked = await this.#store.put(this.#key(runId), JSON.stringify({ ...record, lock }), {
      expectedVersion: version,
    });
    if (!locked.ok) throw this.#busy();

    let result;
    try {
      result = await agent.step(record.state, { signal });
    } catch (error) {
      // Leave the run exactly as it was: drop our lock if it is still ours.
      await this.#store.put(this.#key(runId), JSON.stringify(record), { expectedVersion: locked.version })
        .catch(() => {});
      throw error;
    }
    const stepIndex = record.state.steps.length; // where this step's record was appended
    const idempotency = idempotencyKey
      ? [...record.idempotency, [idempotencyKey, stepIndex] as [string, number]].slice(-MAX_IDEMPOTENCY_KEYS)
      : record.idempotency;
    const next: RunRecord = { ...record, state: result.state, idempotency, lock: null };
    const committed = await this.#store.put(this.#key(runId), JSON.stringify(next), {
      expectedVersion: locked.version,
    });
    if (!committed.ok) {
      throw new RunError("step_lost", "The step's lock expired and another step took over; this step was discarded.");
    }
    return { record: next, step: result.step, events: result.events, replayed: false };
  }

  #busy(): RunError {
    return new RunError("step_in_progress", "Another step of this run is in progress; retry when it has finished.");
  }
}
