import type { StateStore } from "../../lib/stores/state_store.ts";

/**
 * Every entry of a Deno KV database as `key -> versionstamp`: Deno KV gives every committed write a new, larger
 * versionstamp (even a write of the same value), so two equal snapshots mean no entry was written, added or deleted
 * in between. Cheap enough to take around every request of a fuzz run.
 */
export async function kvSnapshot(kv: Deno.Kv): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  for await (const entry of kv.list({ prefix: [] })) {
    entries.set(JSON.stringify(entry.key, (_, v) => typeof v === "bigint" ? `${v}n` : v), entry.versionstamp);
  }
  return entries;
}

/**
 * Every value a `DenoKvStore` holds, by store key, as the store returns it: equal snapshots mean every record reads
 * back byte-identical. Unlike `kvSnapshot`, a write that puts back the very same value (a step that took the run's
 * lock and then failed, and restored the record) leaves this snapshot equal.
 */
export async function storeSnapshot(kv: Deno.Kv, store: StateStore, prefix: Deno.KvKey = ["smolstep"]) {
  const values = new Map<string, string | undefined>();
  for await (const entry of kv.list({ prefix: [...prefix, "v"] })) {
    const key = String(entry.key[prefix.length + 1]);
    values.set(key, (await store.get(key))?.value);
  }
  return values;
}
