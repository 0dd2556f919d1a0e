/**
 * The model deltas of background steps in flight, by run, for `GET /v1/runs/{id}/events`: an in-process channel.
 * Deltas are ephemeral: never stored, never replayed (a listener hears those sent while it listens). A listener
 * hears only steps run by the same process (isolate): on Deno with the in-process or Deno KV queue that is every
 * background step of the server; on Workers the queue consumer runs in its own invocation, so an events stream
 * there carries no deltas.
 */
import type { DeltaEvent } from "../agents/agent_events.ts";

export class DeltaChannel {
  readonly #listeners = new Map<string, Set<(event: DeltaEvent) => void>>();

  /** Tells the run's listeners (none: nothing happens). */
  publish(runId: string, event: DeltaEvent): void {
    for (const listener of this.#listeners.get(runId) ?? []) listener(event);
  }

  /** Listens to a run's deltas; returns the function that stops listening. */
  subscribe(runId: string, listener: (event: DeltaEvent) => void): () => void {
    const listeners = this.#listeners.get(runId) ?? new Set();
    listeners.add(listener);
    this.#listeners.set(runId, listeners);
    return () => {
      listeners.delete(listener);
      if (!listeners.size) this.#listeners.delete(runId);
    };
  }
}
