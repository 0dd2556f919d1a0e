import type { PutOptions, StateStore } from "../../lib/stores/state_store.ts";

/** Wraps a store and counts every call made to it, to prove that a refused request did no store work. */
export class CountingStore implements StateStore {
  calls = 0;
  puts = 0;
  /** Runs before each call (a test may abort a signal there, or wait). */
  beforeCall: ((method: "get" | "put" | "delete", key: string) => void | Promise<void>) | undefined;

  constructor(readonly inner: StateStore) {}

  get atomic(): boolean {
    return this.inner.atomic;
  }

  get maxValueBytes(): number {
    return this.inner.maxValueBytes;
  }

  async get(key: string) {
    this.calls++;
    await this.beforeCall?.("get", key);
    return await this.inner.get(key);
  }

  /** A batched read counts as one call and as a "get" for `beforeCall`. */
  async getMany(keys: string[]) {
    this.calls++;
    await this.beforeCall?.("get", keys[0] ?? "");
    return await this.inner.getMany(keys);
  }

  async put(key: string, value: string, options?: PutOptions) {
    this.calls++;
    this.puts++;
    await this.beforeCall?.("put", key);
    return await this.inner.put(key, value, options);
  }

  async delete(key: string) {
    this.calls++;
    await this.beforeCall?.("delete", key);
    await this.inner.delete(key);
  }
}
