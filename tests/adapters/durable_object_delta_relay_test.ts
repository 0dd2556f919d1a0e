import assert from "node:assert/strict";
import type { DeltaEvent } from "../../lib/agents/agent_events.ts";
import { DELTAS_URL, DurableObjectDeltaRelay } from "../../lib/adapters/cloudflare/durable_object_delta_relay.ts";
import type { DurableObjectNamespaceLike } from "../../lib/adapters/cloudflare/durable_object_store.ts";
import { sqliteDurableObjects } from "../support/sqlite_durable_object.ts";

const delta = (stepNumber: number, text: string): DeltaEvent => ({ type: "delta", agent: "a", stepNumber, text });

/** The namespace, counting the deltas POSTed to each object. */
function countingPosts(namespace: DurableObjectNamespaceLike) {
  const posts = new Map<string, number>();
  const counted: DurableObjectNamespaceLike = {
    idFromName: (name) => namespace.idFromName(name),
    get(id) {
      const stub = namespace.get(id);
      return {
        fetch(request: Request) {
          if (request.method === "POST") posts.set(String(id), (posts.get(String(id)) ?? 0) + 1);
          return stub.fetch(request);
        },
      };
    },
  };
  return { namespace: counted, posts };
}

/** Waits until `check` holds, polling (the listener's stream is read asynchronously). */
async function until(check: () => boolean) {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(check(), "timed out");
}

Deno.test("DurableObjectDeltaRelay: deltas go from one invocation to another through the run's object", async (t) => {
  const objects = sqliteDurableObjects();
  const { namespace, posts } = countingPosts(objects.namespace);
  // Two relays over one namespace: the queue consumer's invocation and the events request's.
  const consumer = new DurableObjectDeltaRelay(namespace);
  const events = new DurableObjectDeltaRelay(namespace);
  try {
    await t.step("a listener hears every delta in order; a step's burst travels in a few requests", async () => {
      const heard: DeltaEvent[] = [];
      const stop = events.subscribe("run-1", (event) => void heard.push(event));
      // The listener's stream is open once a first delta gets through.
      await until(() => {
        consumer.publish("run-1", delta(1, "."));
        return heard.length > 0;
      });
      await consumer.flush("run-1");
      heard.length = 0;
      posts.clear();
      for (let i = 0; i < 200; i++) consumer.publish("run-1", delta(2, `t${i}`));
      await consumer.flush("run-1");
      await until(() => heard.length === 200);
      assert.deepEqual(heard.map((event) => event.text), Array.from({ length: 200 }, (_, i) => `t${i}`));
      // The first POST leaves at once; the other 199 wait for it and go together.
      assert.equal(posts.get("runs/run-1"), 2);
      stop();
    });

    await t.step("another run's listener hears nothing; a stopped listener hears nothing more", async () => {
      const other: DeltaEvent[] = [];
      const mine: DeltaEvent[] = [];
      const stopOther = events.subscribe("run-2", (event) => void other.push(event));
      const stopMine = events.subscribe("run-3", (event) => void mine.push(event));
      await until(() => {
        consumer.publish("run-3", delta(1, "x"));
        return mine.length > 0;
      });
      assert.equal(other.length, 0);
      stopMine();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const before = mine.length;
      consumer.publish("run-3", delta(1, "after"));
      await consumer.flush("run-3");
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(mine.length, before);
      stopOther();
    });

    await t.step("the object keeps nothing, and refuses what is not a list of deltas", async () => {
      const stub = objects.namespace.get(objects.namespace.idFromName("runs/run-4"));
      const post = (body: string) => stub.fetch(new Request(DELTAS_URL, { method: "POST", body }));
      assert.equal((await post(JSON.stringify([delta(1, "nobody listens")]))).status, 204);
      for (const bad of ["{", "{}", JSON.stringify([{ type: "step" }]), JSON.stringify([null])]) {
        const refused = await post(bad);
        assert.equal(refused.status, 400, bad);
        await refused.body?.cancel();
      }
      // No storage was touched: the object has no tables, so a getMany answers every key missing.
      const read = await stub.fetch(
        new Request("https://smolstep-state.internal/entry", { method: "POST", body: '["runs/run-4"]' }),
      );
      assert.equal(read.headers.get("x-smolstep-entries"), "[null]");
      await read.body?.cancel();
    });

    await t.step(
      "flush with nothing sent resolves at once; a failing object loses deltas, not the publisher",
      async () => {
        await consumer.flush("never-published");
        const broken = new DurableObjectDeltaRelay({
          idFromName: (name) => name,
          get: () => ({ fetch: () => Promise.reject(new Error("object unavailable")) }),
        });
        broken.publish("run-5", delta(1, "lost"));
        await broken.flush("run-5");
      },
    );
  } finally {
    objects.close();
  }
});
