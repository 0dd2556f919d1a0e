/**
 * The claim a callback delivery attempt takes (lib/runs/callback_marks.ts), over a real (in-memory) Deno KV: an
 * attempt that outlived its claim (its callback URL's name took that long to resolve, say) and then failed gives back
 * only its own claim, never another attempt's claim or the mark of a delivery that has ended since.
 */
import assert from "node:assert/strict";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import type { AgentState } from "../../lib/memory/agent_state.ts";
import { callbackMarkKey, CallbackMarks } from "../../lib/runs/callback_marks.ts";
import { RunLifecycle } from "../../lib/runs/run_lifecycle.ts";

const ended = { status: "succeeded", updatedAt: Date.now() } as AgentState;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
type Claimed = Awaited<ReturnType<CallbackMarks["claim"]>>;
const isClaim = (claim: Claimed) => claim !== "settled" && claim !== "sending";

Deno.test("callback marks: a late attempt's release leaves a settled mark, and a newer claim, in place", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new DenoKvStore(kv);
    const marks = new CallbackMarks(store, new RunLifecycle());
    const late = await marks.claim("r1", 50);
    assert.ok(isClaim(late));
    await sleep(80); // its claim has run out: another delivery takes the callback, sends it, settles it
    const other = await marks.claim("r1", 50);
    assert.ok(isClaim(other), "a claim past its time is free");
    await marks.settle("r1", ended);
    // The late attempt failed (its fetch had no time left): it gives its claim back.
    await marks.release("r1", late as { version: string });
    assert.equal(await marks.claim("r1", 50), "settled", "sent once: no attempt may claim it again");

    const first = await marks.claim("r2", 50);
    await sleep(80);
    const second = await marks.claim("r2", 5_000);
    assert.ok(isClaim(second));
    await marks.release("r2", first as { version: string });
    assert.equal(await marks.claim("r2", 50), "sending", "the newer attempt keeps its claim");
    // Its own release gives it back, and the key reads as gone (a server older than claims takes any value for settled).
    await marks.release("r2", second as { version: string });
    await sleep(5);
    assert.equal(await store.get(callbackMarkKey("r2")), null);
    assert.ok(isClaim(await marks.claim("r2", 50)));
  } finally {
    kv.close();
  }
});
