/**
 * `DurableObjectDeltaRelay`: the model deltas of background steps, carried between Workers invocations through the
 * run's Durable Object. On Workers the queue consumer that runs a background step is not the invocation serving
 * `GET /v1/runs/{id}/events`, so an in-process channel hears nothing there; the run's object (the one
 * `DurableObjectStore` keeps the run in, `SmolstepStateObject`) passes them on instead:
 *
 *   queue consumer --POST deltas (batched)--> run's object --NDJSON stream--> each events request listening
 *
 * The object keeps nothing: deltas go to the listeners connected at that moment and are dropped otherwise (they
 * are ephemeral everywhere). Publishing batches what arrives while a POST is in flight, so a step sends a few
 * requests, not one per token; `flush` (awaited by the background runner after each step) makes sure the last
 * batch has left before the invocation ends. A failed POST loses those deltas, never the step.
 */
import type { DeltaEvent } from "../../agents/agent_events.ts";
import type { DeltaRelay } from "../../runs/delta_channel.ts";
import { type DurableObjectNamespaceLike, runObjectName } from "./durable_object_store.ts";

/** The relay's URL on the run's object (internal; the object answers it in `SmolstepStateObject.fetch`). */
export const DELTAS_URL = "https://smolstep-state.internal/deltas";

interface Outbox {
  waiting: DeltaEvent[];
  sending: Promise<void>;
}

export class DurableObjectDeltaRelay implements DeltaRelay {
  readonly #namespace: DurableObjectNamespaceLike;
  readonly #outboxes = new Map<string, Outbox>();

  constructor(namespace: DurableObjectNamespaceLike) {
    this.#namespace = namespace;
  }

  publish(runId: string, event: DeltaEvent): void {
    const outbox = this.#outboxes.get(runId);
    if (outbox) {
      outbox.waiting.push(event);
      return;
    }
    const fresh: Outbox = { waiting: [event], sending: Promise.resolve() };
    this.#outboxes.set(runId, fresh);
    fresh.sending = this.#drain(runId, fresh);
  }

  async flush(runId: string): Promise<void> {
    await this.#outboxes.get(runId)?.sending;
  }

  subscribe(runId: string, listener: (event: DeltaEvent) => void): () => void {
    const stop = new AbortController();
    this.#listen(runId, listener, stop.signal).catch(() => {}); // deltas are best effort; the steps are polled
    return () => stop.abort();
  }

  /** Sends the outbox's deltas, one POST at a time, until nothing waits. */
  async #drain(runId: string, outbox: Outbox): Promise<void> {
    while (outbox.waiting.length) {
      const batch = outbox.waiting.splice(0);
      try {
        const response = await this.#stub(runId).fetch(
          new Request(DELTAS_URL, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(batch),
          }),
        );
        await response.body?.cancel();
      } catch {
        // Lost deltas are only lost text on a screen: the step itself is committed (or not) on its own.
      }
    }
    this.#outboxes.delete(runId);
  }

  async #listen(runId: string, listener: (event: DeltaEvent) => void, signal: AbortSignal): Promise<void> {
    const response = await this.#stub(runId).fetch(new Request(DELTAS_URL, { signal }));
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      return;
    }
    const lines = response.body.pipeThrough(new TextDecoderStream()).getReader();
    signal.addEventListener("abort", () => void lines.cancel().catch(() => {}), { once: true });
    let partial = "";
    for (let read = await lines.read(); !read.done; read = await lines.read()) {
      const parts = (partial + read.value).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) if (line) listener(JSON.parse(line) as DeltaEvent);
    }
  }

  #stub(runId: string) {
    return this.#namespace.get(this.#namespace.idFromName(runObjectName(`runs/${runId}`)));
  }
}
