import assert from "node:assert/strict";
import { ToolCallingAgent } from "../../lib/mod.ts";
import { MemoryStore } from "../../lib/server.ts";
import { StateTokenCodec, StateTokenError } from "../../lib/runs/state_token.ts";
import { type TokenClaim, TokenLedger } from "../../lib/runs/token_ledger.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { countingDenoKv } from "../support/round_trip_counter.ts";

const codec = new StateTokenCodec("ledger-secret-0123456789abcdef", { ttlSeconds: 3600 });
const state = new ToolCallingAgent({ model: () => "", name: "assistant" }).start("x");
const isCode = (code: string) => (error: Error) => error instanceof StateTokenError && error.code === code;

Deno.test("token ledger", async (t) => {
  await t.step("every sealed token has its own id, inside the signed payload", async () => {
    const [a, b] = [
      await codec.read(await codec.seal("assistant", state), "assistant"),
      await codec.seal("assistant", state),
    ];
    const other = await codec.read(b, "assistant");
    assert.match(a.id!, /^[A-Za-z0-9_-]{22}$/);
    assert.notEqual(a.id, other.id);
    assert.ok(a.exp > Date.now() / 1000 + 3500);
  });

  await t.step("used: refused for the token's lifetime; the entry expires with the token", async () => {
    let now = Date.now();
    const store = new MemoryStore({ now: () => now });
    const ledger = new TokenLedger(store, { claimTtlMs: 60_000 });
    const token = await codec.read(await codec.seal("assistant", state), "assistant");
    await (await ledger.claim(token)).used();
    await assert.rejects(ledger.claim(token), isCode("token_replayed"));
    now += 3_600_000; // the token's last second
    await assert.rejects(ledger.claim(token), isCode("token_replayed"));
    now += 120_000; // past its expiry (and the margin): the codec refuses it now, the store may forget it
    assert.equal(await store.get(`tokens/${token.id}`), null);
  });

  await t.step("in use: refused; freed: claimable again; a dead claim frees itself after claimTtlMs", async () => {
    const ledger = new TokenLedger(new MemoryStore(), { claimTtlMs: 50 });
    const token = await codec.read(await codec.seal("assistant", state), "assistant");
    const first = await ledger.claim(token);
    await assert.rejects(ledger.claim(token), isCode("token_replayed"));
    await first.free();
    const second = await ledger.claim(token); // claimed again, then "dies" without freeing
    await new Promise((resolve) => setTimeout(resolve, 80));
    const third = await ledger.claim(token);
    await second.free(); // the dead claim's late free does not undo the takeover
    await assert.rejects(ledger.claim(token), isCode("token_replayed"));
    await third.used();
    await assert.rejects(ledger.claim(token), isCode("token_replayed"));
  });

  await t.step("a token without an id (sealed before ids existed) is refused where replays are checked", async () => {
    const ledger = new TokenLedger(new MemoryStore(), { claimTtlMs: 50 });
    await assert.rejects(ledger.claim({ state, exp: Date.now() / 1000 + 60 }), isCode("invalid_token"));
  });

  await t.step("round trips on Deno KV: a fresh token is two commits and no read", async () => {
    const real = await Deno.openKv(":memory:");
    try {
      const { kv, trips } = countingDenoKv(real);
      const ledger = new TokenLedger(new DenoKvStore(kv), { claimTtlMs: 60_000 });
      const token = await codec.read(await codec.seal("assistant", state), "assistant");
      const claim = await ledger.claim(token);
      assert.deepEqual(trips.take(), { reads: 0, writes: 1 });
      await claim.used();
      assert.deepEqual(trips.take(), { reads: 0, writes: 1 });
      await assert.rejects(ledger.claim(token), isCode("token_replayed"));
      assert.deepEqual(trips.take(), { reads: 2, writes: 1 }, "a replay: the refused create, its head, the entry");
      const other = await ledger.claim(await codec.read(await codec.seal("assistant", state), "assistant"));
      trips.take();
      await other.free();
      assert.deepEqual(trips.take(), { reads: 1, writes: 1 }, "freeing a fresh claim checks it is still ours");
    } finally {
      real.close();
    }
  });

  await t.step(
    "on a Deno KV file, under group commit: of concurrent claims of one token exactly one wins",
    async () => {
      const dir = await Deno.makeTempDir();
      const real = await Deno.openKv(`${dir}/ledger.sqlite3`);
      try {
        const { kv, trips } = countingDenoKv(real);
        const ledger = new TokenLedger(new DenoKvStore(kv), { claimTtlMs: 60_000 });
        const open = async () => await codec.read(await codec.seal("assistant", state), "assistant");
        const target = await open();
        const others = await Promise.all(Array.from({ length: 19 }, open));
        // 19 claims of other tokens fill the commits in flight, so the 20 claims of one token, issued in the same
        // tick, queue and are committed in batches beside them: each batch may hold one of them, never two.
        const freshClaims = Promise.allSettled(others.map((token) => ledger.claim(token)));
        const contestedClaims = Promise.allSettled(Array.from({ length: 20 }, () => ledger.claim(target)));
        const [contested, fresh] = [await contestedClaims, await freshClaims];
        const winners = contested.filter((outcome) => outcome.status === "fulfilled");
        assert.equal(winners.length, 1, "exactly one claim of the contested token wins");
        for (const outcome of contested) {
          if (outcome.status === "rejected") {
            assert.ok(
              isCode("token_replayed")(outcome.reason),
              String(outcome.reason),
            );
          }
        }
        assert.ok(
          fresh.every((outcome) => outcome.status === "fulfilled"),
          "a lost claim does not fail its batch mates",
        );
        const claims = fresh.map((outcome) => (outcome as PromiseFulfilledResult<TokenClaim>).value);

        // The other tokens are spent together: their `used` writes share commits (group commit)...
        trips.take();
        await Promise.all([
          (winners[0] as PromiseFulfilledResult<TokenClaim>).value.used(),
          ...claims.slice(1).map((claim) => claim.used()),
          claims[0].free(), // ...beside a failed step that frees its token
        ]);
        assert.ok(trips.take().writes < 20, "20 writes issued at once share commits");
        // ...and every spent token, the contested one included, is refused from then on, even several at once.
        const replays = await Promise.allSettled(
          [target, target, ...others.slice(1)].map((token) => ledger.claim(token)),
        );
        for (const outcome of replays) {
          assert.equal(outcome.status, "rejected");
          assert.ok(isCode("token_replayed")((outcome as PromiseRejectedResult).reason));
        }
        // The freed token can be claimed again, once.
        const again = await Promise.allSettled([ledger.claim(others[0]), ledger.claim(others[0])]);
        assert.deepEqual(again.map((outcome) => outcome.status).sort(), ["fulfilled", "rejected"]);
      } finally {
        real.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
});
