/**
 * The Durable Object side of `DurableObjectDeltaRelay`: hands each batch of deltas POSTed to the run's object to
 * the event streams listening at that moment, as NDJSON lines. Held in memory only: nothing is stored, and a
 * listener that has gone is dropped on the next write.
 */

const encoder = new TextEncoder();

export class DeltaFanout {
  readonly #listeners = new Set<WritableStreamDefaultWriter<Uint8Array>>();

  /** `GET`: a stream of the deltas published from now on, until the listener goes away. */
  listen(): Response {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    this.#listeners.add(writer);
    writer.closed.catch(() => {}).finally(() => this.#listeners.delete(writer));
    return new Response(readable, { headers: { "content-type": "application/x-ndjson" } });
  }

  /** `POST`: a JSON array of delta events, each written to every listener as one line. */
  async publish(request: Request): Promise<Response> {
    let events: unknown;
    try {
      events = JSON.parse(await request.text());
    } catch {
      events = undefined;
    }
    if (!Array.isArray(events) || !events.every((event) => event?.type === "delta")) {
      return new Response("expected a JSON array of delta events", { status: 400 });
    }
    if (events.length && this.#listeners.size) {
      const bytes = encoder.encode(events.map((event) => JSON.stringify(event) + "\n").join(""));
      for (const writer of this.#listeners) {
        // Not awaited: a slow listener must not hold the publisher; one that has gone is dropped.
        writer.write(bytes).catch(() => this.#listeners.delete(writer));
      }
    }
    return new Response(null, { status: 204 });
  }
}
