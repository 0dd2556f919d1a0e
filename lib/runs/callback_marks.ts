import type { AgentState } from "../memory/agent_state.ts";
import type { StateStore } from "../stores/state_store.ts";
import type { RunLifecycle } from "./run_lifecycle.ts";

/**
 * Whether a run's result callback has been settled (sent, refused by the egress guard, or given up on after its
 * last attempt): a key `runs/<id>/callback` written once the delivery ends, kept as long as the run. The background
 * runner checks it before each attempt (a callback queued twice is sent once) and when the step message whose commit
 * ended the run comes back (that commit may not have queued the callback: the process died, or the queue refused it).
 */

/** The key of a run's callback mark (a run's DELETE leaves it to expire: it holds a time, nothing of the run's). */
export function callbackMarkKey(runId: string): string {
  return `runs/${runId}/callback`;
}

export class CallbackMarks {
  readonly #store: StateStore;
  readonly #lifecycle: RunLifecycle;

  constructor(store: StateStore, lifecycle: RunLifecycle) {
    this.#store = store;
    this.#lifecycle = lifecycle;
  }

  async settled(runId: string): Promise<boolean> {
    return (await this.#store.get(callbackMarkKey(runId))) !== null;
  }

  /** Marks the callback of the run (now in `state`) settled, for as long as the run is kept. */
  async settle(runId: string, state: AgentState): Promise<void> {
    await this.#store.put(callbackMarkKey(runId), String(Date.now()), { expireIn: this.#lifecycle.expireIn(state) });
  }
}
