import type { StateStore } from "../stores/state_store.ts";

/** Told how long each store operation took. */
export interface StoreObserver {
  storeOperationEnded(operation: string, seconds: number, ok: boolean): void;
}

/**
 * The same store, with every asynchronous method timed under its own name (`get`, `put`, `delete`, and whatever
 * else the store has, such as `getMany`): a Proxy, so methods added to `StateStore` later, and a backend's own
 * extras, are forwarded and timed without changes here. Properties (`atomic`, `maxValueBytes`) read through, and
 * methods run on the store itself, so backends with private fields keep working. The operation label is a method
 * name, a small fixed set.
 */
export function instrumentStore<S extends StateStore>(store: S, observer: StoreObserver): S {
  const wrappers = new WeakMap<(...args: unknown[]) => unknown, (...args: unknown[]) => unknown>();
  return new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== "function" || typeof property !== "string" || property === "constructor") return value;
      const method = value as (...args: unknown[]) => unknown;
      let wrapper = wrappers.get(method);
      if (!wrapper) {
        wrapper = (...args: unknown[]) => timed(property, method.apply(target, args), observer);
        wrappers.set(method, wrapper);
      }
      return wrapper;
    },
  });
}

/** Times `result` until it settles when it is a promise; other results pass through untimed. */
function timed(operation: string, result: unknown, observer: StoreObserver): unknown {
  if (!(result instanceof Promise)) return result;
  const started = performance.now();
  const end = (ok: boolean) => observer.storeOperationEnded(operation, (performance.now() - started) / 1000, ok);
  return result.then(
    (value) => {
      end(true);
      return value;
    },
    (error) => {
      end(false);
      throw error;
    },
  );
}
