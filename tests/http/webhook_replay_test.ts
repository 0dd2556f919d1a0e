/**
 * Webhook replay attacks over the real app (loopback HTTP, in-process queue, scripted model server). Deliveries are
 * signed by independent senders: the reference Standard Webhooks library, and `node:crypto` for GitHub and Stripe.
 */
import assert from "node:assert/strict";
import { createAgents } from "../../functions/agents.ts";
import { exampleWebhook } from "../../functions/server_options.ts";
import { InvalidInputError, type PutOptions, type StateStore } from "../../lib/mod.ts";
import { MemoryStore, type WebhookConfig } from "../../lib/server.ts";
import { serveBackground } from "../support/background_app.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import {
  githubHeaders,
  nowSeconds,
  postHook,
  standardHeaders,
  stripeHeaders,
  whsecSecret,
} from "../support/webhook_senders.ts";

const SECRET = whsecSecret("replay-test-secret");
const GITHUB_SECRET = "github-secret-0123456789";
const STRIPE_SECRET = "whsec_StripeShowsSecretsLikeThis0123";
const RAW_SECRET = "a-raw-standard-webhooks-secret";

/** A MemoryStore that records every write and lets a test fail or hold one (a backend outage, a slow write). */
class RecordingStore implements StateStore {
  readonly atomic = true;
  readonly #inner = new MemoryStore();
  readonly writes: string[] = [];
  beforeWrite: ((key: string, kind: "put" | "delete") => void | Promise<void>) | undefined;

  get maxValueBytes(): number {
    return this.#inner.maxValueBytes;
  }

  get(key: string) {
    return this.#inner.get(key);
  }

  getMany(keys: string[]) {
    return this.#inner.getMany(keys);
  }

  async put(key: string, value: string, options?: PutOptions) {
    await this.beforeWrite?.(key, "put");
    this.writes.push(key);
    return await this.#inner.put(key, value, options);
  }

  async delete(key: string) {
    await this.beforeWrite?.(key, "delete");
    this.writes.push(`delete ${key}`);
    await this.#inner.delete(key);
  }

  /** Run records created so far (a run's first write). */
  runsCreated(): number {
    return new Set(this.writes.filter((key) => /^runs\/[0-9a-f-]+$/.test(key))).size;
  }
}

const throwing: WebhookConfig["task"] = (payload) => {
  if ((payload as { kind?: string }).kind === "refused") throw new InvalidInputError("kind 'refused' is not handled");
  throw new Error("database password is hunter2");
};

Deno.test("webhook replay attacks are refused over the real app", async (t) => {
  const model = await startScriptedModelServer();
  model.setHandler(() => toolCallReply("final_answer", { answer: "done" }));
  const { assistant } = createAgents({ OPENAI_BASE_URL: model.url, OPENAI_API_KEY: "k" });
  const store = new RecordingStore();
  const app = serveBackground({
    agents: { assistant, github: assistant, stripe: assistant, thrower: assistant, raw: assistant },
    store,
    webhooks: {
      assistant: { ...exampleWebhook(["standard"]), secret: SECRET },
      github: { task: "Issue: {{issue.title}}", secret: GITHUB_SECRET, schemes: ["github"] },
      stripe: { task: "Stripe event {{type}}", secret: STRIPE_SECRET, schemes: ["stripe"] },
      thrower: { task: throwing, secret: SECRET },
      raw: { task: "{{task}}", secret: RAW_SECRET },
    },
  });
  const hook = (agent: string) => `${app.url}/v1/hooks/${agent}`;

  try {
    await t.step(
      "attack: a captured Standard Webhooks delivery replayed with new unsigned headers starts nothing",
      async () => {
        const body = JSON.stringify({ task: "run me once" });
        const headers = standardHeaders(SECRET, body);
        const first = await postHook(hook("assistant"), body, headers);
        assert.equal(first.status, 202, JSON.stringify(first.body));
        const before = store.runsCreated();
        const forged = {
          ...headers,
          "X-Smolstep-Delivery": crypto.randomUUID(),
          "X-GitHub-Delivery": crypto.randomUUID(),
          "Idempotency-Key": crypto.randomUUID(),
          "User-Agent": "replayer/1.0",
        };
        const replays = await Promise.all(Array.from({ length: 5 }, () => postHook(hook("assistant"), body, forged)));
        for (const replay of replays) {
          assert.deepEqual(replay, { status: 200, body: { duplicate: true, runId: first.body.runId } });
        }
        assert.equal(store.runsCreated(), before);
      },
    );

    await t.step(
      "attack: a changed webhook-id (or timestamp) without a new signature is refused with 401",
      async () => {
        const body = JSON.stringify({ task: "run me once" });
        const headers = standardHeaders(SECRET, body);
        await app.queue.idle(); // the background runs started so far are done writing
        const before = store.writes.length;
        const newId = await postHook(hook("assistant"), body, {
          ...headers,
          "webhook-id": `msg_${crypto.randomUUID()}`,
        });
        assert.deepEqual([newId.status, newId.body.error.code], [401, "invalid_signature"]);
        const newTime = await postHook(hook("assistant"), body, {
          ...headers,
          "webhook-timestamp": String(nowSeconds() + 1),
        });
        assert.deepEqual([newTime.status, newTime.body.error.code], [401, "invalid_signature"]);
        assert.equal(store.writes.length, before, "a refused delivery writes nothing");
      },
    );

    await t.step(
      "attack: a stale (or future) timestamp correctly signed by the sender is refused with 401",
      async () => {
        const body = JSON.stringify({ task: "late" });
        for (const timestamp of [nowSeconds() - 301, nowSeconds() + 3600]) {
          const stale = await postHook(hook("assistant"), body, standardHeaders(SECRET, body, { timestamp }));
          assert.deepEqual([stale.status, stale.body.error.code], [401, "stale_timestamp"]);
        }
      },
    );

    await t.step("Standard Webhooks: several signatures (secret rotation) and raw secrets interoperate", async () => {
      const body = JSON.stringify({ task: "rotated" });
      const headers = standardHeaders(SECRET, body);
      const wrong = standardHeaders(whsecSecret("the old secret"), body, {
        id: headers["webhook-id"],
        timestamp: Number(headers["webhook-timestamp"]),
      });
      const rotated = await postHook(hook("assistant"), body, {
        ...headers,
        "webhook-signature": `v1a,ignored ${wrong["webhook-signature"]} ${headers["webhook-signature"]}`,
      });
      assert.equal(rotated.status, 202, JSON.stringify(rotated.body));
      const raw = await postHook(hook("raw"), body, standardHeaders(RAW_SECRET, body));
      assert.equal(raw.status, 202, JSON.stringify(raw.body));
      const run = await app.api.get(`/v1/runs/${raw.body.runId}`);
      assert.equal(run.body.task, "rotated");
    });

    await t.step("attack: a GitHub delivery replayed with a new X-GitHub-Delivery starts nothing", async () => {
      const body = JSON.stringify({ action: "opened", issue: { title: "Crash on start" } });
      const headers = githubHeaders(GITHUB_SECRET, body, "gh-1");
      const first = await postHook(hook("github"), body, headers);
      assert.equal(first.status, 202, JSON.stringify(first.body));
      const before = store.runsCreated();
      for (const delivery of ["gh-2", crypto.randomUUID()]) {
        const replay = await postHook(hook("github"), body, { ...headers, "X-GitHub-Delivery": delivery });
        assert.deepEqual(replay, { status: 200, body: { duplicate: true, runId: first.body.runId } });
      }
      const { "X-GitHub-Delivery": _, ...withoutId } = headers;
      const noId = await postHook(hook("github"), body, withoutId);
      assert.deepEqual(noId.body, { duplicate: true, runId: first.body.runId });
      assert.equal(store.runsCreated(), before);

      const tampered = await postHook(hook("github"), body.replace("Crash", "Evil"), headers);
      assert.deepEqual([tampered.status, tampered.body.error.code], [401, "invalid_signature"]);
      const next = JSON.stringify({ action: "opened", issue: { title: "Another issue" } });
      const another = await postHook(hook("github"), next, githubHeaders(GITHUB_SECRET, next, "gh-1"));
      assert.equal(another.status, 202, "a new event starts a run even under a reused X-GitHub-Delivery");
      assert.equal((await app.api.get(`/v1/runs/${another.body.runId}`)).body.task, "Issue: Another issue");
    });

    await t.step("attack: Stripe replays start nothing; stale t and bad signatures are refused", async () => {
      const body = JSON.stringify({ id: "evt_1", object: "event", type: "invoice.paid" });
      const headers = stripeHeaders(STRIPE_SECRET, body);
      const first = await postHook(hook("stripe"), body, headers);
      assert.equal(first.status, 202, JSON.stringify(first.body));
      const before = store.runsCreated();
      const replay = await postHook(hook("stripe"), body, headers);
      assert.deepEqual(replay, { status: 200, body: { duplicate: true, runId: first.body.runId } });
      // Stripe retries an event with a new t and signature: still the same signed event id.
      const retried = await postHook(hook("stripe"), body, stripeHeaders(STRIPE_SECRET, body, nowSeconds() + 1));
      assert.deepEqual(retried.body, { duplicate: true, runId: first.body.runId });
      assert.equal(store.runsCreated(), before);

      const event2 = JSON.stringify({ id: "evt_2", object: "event", type: "invoice.paid" });
      const stale = await postHook(hook("stripe"), event2, stripeHeaders(STRIPE_SECRET, event2, nowSeconds() - 3600));
      assert.deepEqual([stale.status, stale.body.error.code], [401, "stale_timestamp"]);
      const t2 = nowSeconds();
      const bad = await postHook(hook("stripe"), event2, { "Stripe-Signature": `t=${t2},v1=${"0".repeat(64)}` });
      assert.deepEqual([bad.status, bad.body.error.code], [401, "invalid_signature"]);
      const otherSecret = await postHook(hook("stripe"), event2, stripeHeaders("whsec_wrong", event2));
      assert.deepEqual([otherSecret.status, otherSecret.body.error.code], [401, "invalid_signature"]);
      const good = stripeHeaders(STRIPE_SECRET, event2, t2)["Stripe-Signature"];
      const movedT = await postHook(hook("stripe"), event2, {
        "Stripe-Signature": good.replace(`t=${t2}`, `t=${t2 + 5}`),
      });
      assert.deepEqual([movedT.status, movedT.body.error.code], [401, "invalid_signature"]);
      const twoTimes = await postHook(hook("stripe"), event2, { "Stripe-Signature": `t=${t2 + 5},${good}` });
      assert.deepEqual([twoTimes.status, twoTimes.body.error.code], [400, "invalid_signature_header"]);
      const rotated = await postHook(hook("stripe"), event2, {
        "Stripe-Signature": good.replace("v1=", `v1=${"ab".repeat(32)},v1=`),
      });
      assert.equal(rotated.status, 202, JSON.stringify(rotated.body));
      assert.equal(store.runsCreated(), before + 1);
    });

    await t.step(
      "attack: a payload with invalid fields (too deep, or an oversized task) is a 4xx that writes nothing; the corrected delivery then starts the run",
      async () => {
        const id = "msg_fix_and_retry";
        await app.queue.idle(); // the background runs started so far are done writing
        const before = store.writes.length;
        const invalid = [
          { task: 42 },
          { task: "x", additionalArgs: "not an object" },
          { task: "x", additionalArgs: [1, 2] },
          { additionalArgs: { a: 1 } },
          ["not", "an", "object"],
        ];
        for (const payload of invalid) {
          const body = JSON.stringify(payload);
          const refused = await postHook(hook("assistant"), body, standardHeaders(SECRET, body, { id }));
          assert.deepEqual([refused.status, refused.body.error.code], [400, "invalid_payload"], body);
        }
        const internals = await postHook(hook("thrower"), "{}", standardHeaders(SECRET, "{}", { id }));
        assert.deepEqual([internals.status, internals.body.error.code], [400, "invalid_payload"]);
        assert.doesNotMatch(internals.body.error.message, /hunter2/, "a task function's own error stays private");
        const refusedKind = JSON.stringify({ kind: "refused" });
        const told = await postHook(hook("thrower"), refusedKind, standardHeaders(SECRET, refusedKind, { id }));
        assert.deepEqual([told.status, told.body.error.message], [
          400,
          "The webhook payload was refused: kind 'refused' is not handled",
        ]);
        const deep = `{"task":"x","additionalArgs":${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}}`;
        const tooDeep = await postHook(hook("assistant"), deep, standardHeaders(SECRET, deep, { id }));
        assert.deepEqual([tooDeep.status, tooDeep.body.error.code], [400, "json_too_deep"]);
        const huge = JSON.stringify({ task: "x".repeat(400_000) });
        const tooLarge = await postHook(hook("assistant"), huge, standardHeaders(SECRET, huge, { id }));
        assert.deepEqual([tooLarge.status, tooLarge.body.error.code], [413, "task_too_large"]);
        assert.equal(store.writes.length, before, "no delivery marker, no run record");

        const body = JSON.stringify({ task: "fixed", additionalArgs: { ticket: 7 } });
        const fixed = await postHook(hook("assistant"), body, standardHeaders(SECRET, body, { id }));
        assert.equal(fixed.status, 202, JSON.stringify(fixed.body));
        await app.queue.idle();
        const run = (await app.api.get(`/v1/runs/${fixed.body.runId}`)).body;
        assert.equal(run.status, "succeeded");
      },
    );

    await t.step("a delivery whose run could not be created is not a duplicate: the retry starts the run", async () => {
      const body = JSON.stringify({ task: "store hiccup" });
      const headers = standardHeaders(SECRET, body);
      let failures = 1;
      store.beforeWrite = (key) => {
        if (key.startsWith("runs/") && failures-- > 0) throw new Error("backend unavailable");
      };
      const failed = await postHook(hook("assistant"), body, headers);
      assert.equal(failed.status, 500);
      const retry = await postHook(hook("assistant"), body, headers);
      assert.equal(retry.status, 202, JSON.stringify(retry.body));
      assert.equal(typeof retry.body.runId, "string");
      const replay = await postHook(hook("assistant"), body, headers);
      assert.deepEqual(replay.body, { duplicate: true, runId: retry.body.runId });
    });

    await t.step(
      "a duplicate arriving while the run is created is told to retry (409), then gets the runId",
      async () => {
        const body = JSON.stringify({ task: "slow store" });
        const headers = standardHeaders(SECRET, body);
        const { promise: held, resolve: release } = Promise.withResolvers<void>();
        const { promise: claimed, resolve: onClaim } = Promise.withResolvers<void>();
        store.beforeWrite = async (key) => {
          if (key.startsWith("hooks/")) onClaim();
          if (key.startsWith("runs/")) await held;
        };
        const first = postHook(hook("assistant"), body, headers);
        await claimed;
        const concurrent = await fetch(hook("assistant"), {
          method: "POST",
          body,
          headers: { "Content-Type": "application/json", ...headers },
        });
        const answer = await concurrent.json();
        assert.deepEqual([concurrent.status, answer.error.code], [409, "delivery_in_progress"]);
        assert.equal(concurrent.headers.get("Retry-After"), "1", "senders are told when to retry");
        release();
        const started = await first;
        assert.equal(started.status, 202);
        const later = await postHook(hook("assistant"), body, headers);
        assert.deepEqual(later.body, { duplicate: true, runId: started.body.runId });
      },
    );

    await t.step("a claim left by a process that died mid-delivery is taken over after the lock TTL", async () => {
      const body = JSON.stringify({ task: "crash in between" });
      const headers = standardHeaders(SECRET, body);
      let down = true;
      store.beforeWrite = (key, kind) => {
        if (down && (key.startsWith("runs/") || kind === "delete")) throw new Error("backend unavailable");
      };
      assert.equal((await postHook(hook("assistant"), body, headers)).status, 500);
      down = false;
      const soon = await postHook(hook("assistant"), body, headers);
      assert.deepEqual([soon.status, soon.body.error.code], [409, "delivery_in_progress"]);
      await new Promise((resolve) => setTimeout(resolve, 250)); // the app's lockTtlMs is 200 ms
      const after = await postHook(hook("assistant"), body, headers);
      assert.equal(after.status, 202, JSON.stringify(after.body));
    });
    store.beforeWrite = undefined;

    await t.step("an agent accepts only its schemes; the old replayable X-Smolstep-* scheme is refused", async () => {
      const body = JSON.stringify({ task: "x" });
      const github = await postHook(hook("assistant"), body, githubHeaders(SECRET, body));
      assert.deepEqual([github.status, github.body.error.code], [401, "missing_signature"]);
      assert.match(github.body.error.message, /webhook-signature/);
      const old = await postHook(hook("assistant"), body, {
        "X-Smolstep-Timestamp": String(nowSeconds()),
        "X-Smolstep-Delivery": "d-1",
        "X-Smolstep-Signature": `sha256=${"0".repeat(64)}`,
      });
      assert.deepEqual([old.status, old.body.error.code], [401, "missing_signature"]);
      assert.match(old.body.error.message, /replaced by Standard Webhooks/);
      const noId = await postHook(hook("assistant"), body, { ...standardHeaders(SECRET, body), "webhook-id": "" });
      assert.deepEqual([noId.status, noId.body.error.code], [400, "missing_delivery_id"]);
    });
  } finally {
    store.beforeWrite = undefined;
    await app.close();
    await model.close();
  }
});
