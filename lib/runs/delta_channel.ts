/**
 * The model deltas of background steps in flight, by run, for `GET /v1/runs/{id}/events`. Deltas are ephemeral:
 * never stored, never replayed (a listener hears those sent while it listens).
 *
 * `DeltaRelay` is what the background runner publishes to and the event streams listen on. `DeltaChannel` is the
 * in-process relay: a listener hears only steps run by the same process (isolate), which on Deno with the
 * in-process or Deno KV queue is every background step of the server. On Workers the queue consumer runs in its
 * own invocation, so deltas travel through the run's Durable Object instead
 * (lib/adapters/cloudflare/durable_object_delta_relay.ts).
 */
import type { DeltaEvent } from "../agents/agent_events.ts";

export interface DeltaRelay {
  /** Tells the run's listeners, wherever they are (fire and forget: a delta may be lost, a step never is). */
  publish(runId: string, event: DeltaEvent): void;
  /** Listens to a run's deltas; returns the function that stops listening. */
  subscribe(runId: string, listener: (event: DeltaEvent) => void): () => void;
  /** Resolves once the run's deltas published so far have been handed on (the step's invocation may then end). */
  flush?(runId: string): Promise<void>;
}

export class DeltaChannel implements DeltaRelay {
  readonly #listeners = new Map<string, Set<(event: DeltaEvent) => void>>();

  publish(runId: string, event: DeltaEvent): void {
    for (const listener of this.#listeners.get(runId) ?? []) listener(event);
  }

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
