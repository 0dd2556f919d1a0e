/**
 * What every `KeyListing` (lib/stores/key_listing.ts) must do, run against each store by its own test file. Keys go
 * under `runs/<random>/`, a prefix one Durable Object holds, so the same suite runs on every store.
 */

import assert from "node:assert/strict";
import type { KeyListing, ListedKey } from "../../lib/stores/key_listing.ts";
import type { StateStore } from "../../lib/stores/state_store.ts";

export interface ListingConformanceOptions {
  /** Seconds a short `expireIn` must be for the store to honour it (Workers KV: 60, so that step is skipped). */
  shortExpiry?: boolean;
}

async function allPages(store: KeyListing, prefix: string, limit?: number): Promise<ListedKey[][]> {
  const pages: ListedKey[][] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list(prefix, { limit, cursor });
    pages.push(page.keys);
    cursor = page.cursor ?? undefined;
    assert.ok(pages.length < 100, "the listing ends");
  } while (cursor !== undefined);
  return pages;
}

export async function runListingConformance(
  t: Deno.TestContext,
  store: StateStore & KeyListing,
  options: ListingConformanceOptions = {},
): Promise<void> {
  const prefix = `runs/lc${crypto.randomUUID().slice(0, 8)}/`;
  const names = ["a", "b/1", "b/2", "c", "d", "e"].map((name) => prefix + name);

  await t.step("list: an empty prefix is one empty last page", async () => {
    assert.deepEqual(await store.list(prefix), { keys: [], cursor: null });
  });

  await t.step("list: only the prefix's keys, in order, each with its expiry", async () => {
    const before = Date.now();
    for (const name of [...names].reverse()) assert.ok((await store.put(name, `v ${name}`)).ok);
    assert.ok((await store.put(prefix + "c", "expiring", { expireIn: 3_600 })).ok);
    // Beside the prefix: the key it extends, and a key in another run.
    assert.ok((await store.put(prefix.slice(0, -1), "record")).ok);
    assert.ok((await store.put(`${prefix.slice(0, -1)}x/other`, "other run")).ok);
    const { keys, cursor } = await store.list(prefix);
    assert.equal(cursor, null);
    assert.deepEqual(keys.map((entry) => entry.key), names);
    for (const entry of keys) {
      if (entry.key !== prefix + "c") assert.equal(entry.expiresAt, null, `${entry.key} never expires`);
    }
    const expiring = keys.find((entry) => entry.key === prefix + "c")!.expiresAt!;
    // Workers KV keeps whole seconds.
    assert.ok(expiring >= before + 3_599_000 && expiring <= Date.now() + 3_601_000, `expiresAt ${expiring}`);
  });

  await t.step("list: pages of at most `limit`, every key once, cursors to the end", async () => {
    for (const limit of [1, 2, 4]) {
      const pages = await allPages(store, prefix, limit);
      assert.ok(pages.every((page) => page.length <= limit), `pages of at most ${limit}`);
      assert.deepEqual(pages.flat().map((entry) => entry.key), names, `limit ${limit}`);
    }
  });

  await t.step("list: a page resumes after its cursor though keys were added and deleted in between", async () => {
    const first = await store.list(prefix, { limit: 2 });
    assert.deepEqual(first.keys.map((entry) => entry.key), names.slice(0, 2));
    await store.delete(prefix + "c");
    assert.ok((await store.put(prefix + "a0", "added before the cursor")).ok);
    assert.ok((await store.put(prefix + "f", "added after it")).ok);
    const rest = await pagesFrom(first.cursor!);
    assert.deepEqual(rest.flat().map((entry) => entry.key), [prefix + "b/2", prefix + "d", prefix + "e", prefix + "f"]);
  });

  async function pagesFrom(cursor: string): Promise<ListedKey[][]> {
    const pages: ListedKey[][] = [];
    let next: string | null = cursor;
    while (next !== null) {
      const page = await store.list(prefix, { limit: 2, cursor: next });
      pages.push(page.keys);
      next = page.cursor;
    }
    return pages;
  }

  if (options.shortExpiry !== false) {
    await t.step("list: an expired key is not listed", async () => {
      assert.ok((await store.put(prefix + "g", "brief", { expireIn: 0.2 })).ok);
      assert.ok((await store.list(prefix)).keys.some((entry) => entry.key === prefix + "g"));
      await new Promise((done) => setTimeout(done, 300));
      assert.ok(!(await store.list(prefix)).keys.some((entry) => entry.key === prefix + "g"));
    });
  }

  await t.step("list: a limit outside 1..1000 is refused", async () => {
    await assert.rejects(() => store.list(prefix, { limit: 0 }), RangeError);
    await assert.rejects(() => store.list(prefix, { limit: 1_001 }), RangeError);
  });
}
