import type { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import type { KeyListing, ListOptions } from "../../lib/stores/key_listing.ts";
import type { PutOptions, StateStore } from "../../lib/stores/state_store.ts";

/**
 * `store`, except that a compare-and-set of `key` (a put with an `expectedVersion`) is preceded by another writer's
 * put of the same value with `expireIn: 60`, as today's server would rewrite it between a sweep's read and its write.
 */
export function racingStore(store: DenoKvStore, key: string): StateStore & KeyListing {
  return {
    atomic: true,
    maxValueBytes: store.maxValueBytes,
    get: (key: string) => store.get(key),
    getMany: (keys: string[]) => store.getMany(keys),
    delete: (key: string) => store.delete(key),
    list: (prefix: string, options?: ListOptions) => store.list(prefix, options),
    put: async (written: string, value: string, options?: PutOptions) => {
      if (written === key && options?.expectedVersion) await store.put(written, value, { expireIn: 60 });
      return await store.put(written, value, options);
    },
  };
}
