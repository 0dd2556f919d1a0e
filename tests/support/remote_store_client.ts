/**
 * A `StateStore` whose every call is a JSON POST to a harness worker running under `wrangler dev`
 * (tests/support/workers/store_harness.ts, do_store_harness.ts), so the conformance suite can drive a store that
 * only exists inside workerd. A store failure inside the worker rejects with "harness answered <status>: <error>";
 * a `StoreLimitError` thrown inside the worker is rethrown as one here (rebuilt from its message).
 */

import type { PutOptions, PutResult, StateStore, StoredValue } from "../../lib/stores/state_store.ts";
import { StoreLimitError } from "../../lib/stores/store_limit_error.ts";
import { type KeyListing, KeyListingError, type KeyPage, type ListOptions } from "../../lib/stores/key_listing.ts";

export class RemoteStore implements StateStore, KeyListing {
  /** `url` is the worker's base URL; `path` the harness route that serves the store. */
  constructor(
    readonly url: string,
    readonly atomic: boolean,
    readonly maxValueBytes: number,
    readonly path = "/store",
  ) {}

  get(key: string): Promise<StoredValue | null> {
    return this.#call({ op: "get", key });
  }

  getMany(keys: string[]): Promise<(StoredValue | null)[]> {
    return this.#call({ op: "getMany", keys });
  }

  put(key: string, value: string, options: PutOptions = {}): Promise<PutResult> {
    return this.#call({ op: "put", key, value, ...options });
  }

  delete(key: string): Promise<void> {
    return this.#call({ op: "delete", key });
  }

  list(prefix: string, options: ListOptions = {}): Promise<KeyPage> {
    return this.#call({ op: "list", key: prefix, ...options });
  }

  async #call<T>(body: Record<string, unknown>): Promise<T> {
    const response = await fetch(`${this.url}${this.path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const json = await response.json();
    if (!response.ok) {
      const limit = /^StoreLimitError: (.* is (\d+) bytes.*the limit is (\d+))$/s.exec(String(json.error));
      if (limit) throw new StoreLimitError("value_too_large", Number(limit[2]), Number(limit[3]), limit[1]);
      const error = String(json.error);
      if (error.startsWith("RangeError: ")) throw new RangeError(error.slice(12));
      if (error.startsWith("KeyListingError: ")) throw new KeyListingError("unsupported", error.slice(17));
      throw new Error(`harness answered ${response.status}: ${json.error}`);
    }
    return json.result as T;
  }
}
