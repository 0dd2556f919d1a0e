/**
 * Group commit for Deno KV: writes that arrive while earlier commits are in flight are committed together, as ONE
 * atomic operation, when a commit slot frees up. On a local SQLite file every commit waits for the disk (an fsync,
 * 4-7 ms on the 2-core VM of the load test, where commits on one file run one at a time); a batch of ten writes waits
 * for it once. Without concurrent writes nothing waits: a write commits at once, alone.
 *
 * What each write is promised does not change:
 * - A batch never holds two writes to the same head key (their checks would both see the version before the batch
 *   and both pass), so each write's compare-and-set is judged exactly as if it were committed alone.
 * - An atomic operation applies all or nothing. When a batch fails (one of its checks failed, or Deno KV refused the
 *   batch, e.g. over its size limits), every write in it is committed again on its own, so each gets its own answer:
 *   a failed check is reported only to the write whose check failed.
 * - "database is locked" (another connection to the file was writing; nothing was applied) is reported to every
 *   write of the batch as {@link BUSY}, after a short random pause, and each write tries again, as before.
 *
 * Deno KV's limits for one atomic operation (see deno_kv_store.ts) bound a batch: at most {@link MAX_BATCH_WRITES}
 * writes (a local Deno KV file takes 100 checks, and each write has at most one; 40 writes of at most 12 mutations
 * stay under its 1,000) and an estimated payload of at most {@link MAX_BATCH_BYTES}. Hosted Deno KV takes at most 10
 * checks: a handle that refuses a batch of more than {@link HOSTED_BATCH_WRITES} writes, for that or any reason (the
 * set keys of 40 writes with long keys can pass the 80 KiB limit), keeps its batches to that many from then on; the
 * refused batch's writes are committed one by one, as for any refused batch. A write
 * larger than the payload bound is committed alone. All writes of a batch get the same versionstamp, which is fine:
 * a versionstamp is compared per key.
 *
 * Why 40 and not 10: on a local file a commit costs about the same CPU whatever it holds (~0.2 ms on the SQLite
 * thread, ~0.1 ms on the caller's, mostly the WAL write and its flush), and at 50 stateless clients the batches
 * were full at 10 writes. Per write (two per stateless step), 74 µs of CPU in batches of 10, 54 µs in batches of 30.
 */

/** A commit that met "database is locked": nothing was applied; try again. */
export const BUSY = Symbol("busy");

export type KvCommitOutcome = Deno.KvCommitResult | Deno.KvCommitError | typeof BUSY;

/** One store write: built into an atomic operation, alone or beside other writes. */
export interface KvWrite {
  /** The key this write is about (the value's head); no batch holds two writes with the same head. */
  head: Deno.KvKey;
  check?: Deno.AtomicCheck;
  sets: Array<{ key: Deno.KvKey; value: unknown; expireIn?: number }>;
  deletes: Deno.KvKey[];
  /** Estimated bytes this write adds to an atomic operation's payload (keys and values). */
  bytes: number;
}

/** Writes per batch on a handle that takes them (a local Deno KV file allows 100 checks per atomic operation). */
export const MAX_BATCH_WRITES = 40;
/** Writes per batch once the handle refused a larger batch: hosted Deno KV allows 10 checks per atomic operation. */
export const HOSTED_BATCH_WRITES = 10;
/** Estimated payload per batch of several writes, well under Deno KV's 819,200 bytes. */
export const MAX_BATCH_BYTES = 400_000;
/** Batches committing at once. */
const MAX_IN_FLIGHT = 2;

interface Pending {
  write: KvWrite;
  id: string;
  settle: PromiseWithResolvers<KvCommitOutcome>;
}

const batchers = new WeakMap<Deno.Kv, KvCommitBatcher>();

/** The batcher of one Deno KV handle, shared by every store on it. */
export function commitBatcher(kv: Deno.Kv): KvCommitBatcher {
  let batcher = batchers.get(kv);
  if (!batcher) batchers.set(kv, batcher = new KvCommitBatcher(kv));
  return batcher;
}

export class KvCommitBatcher {
  readonly #kv: Deno.Kv;
  readonly #queue: Pending[] = [];
  #inFlight = 0;
  #maxWrites = MAX_BATCH_WRITES;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Commits `write`, alone or in a batch; resolves with its own outcome. */
  commit(write: KvWrite): Promise<KvCommitOutcome> {
    const pending: Pending = { write, id: JSON.stringify(write.head), settle: Promise.withResolvers() };
    this.#queue.push(pending);
    this.#pump();
    return pending.settle.promise;
  }

  #pump(): void {
    while (this.#inFlight < MAX_IN_FLIGHT && this.#queue.length > 0) {
      const batch = this.#take();
      this.#inFlight++;
      this.#run(batch).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
  }

  /** The oldest write, and after it, in order, the writes that fit beside it. The rest keep their places. */
  #take(): Pending[] {
    const batch: Pending[] = [];
    const heads = new Set<string>();
    let bytes = 0;
    for (let i = 0; i < this.#queue.length && batch.length < this.#maxWrites;) {
      const pending = this.#queue[i];
      const fits = batch.length === 0 || (!heads.has(pending.id) && bytes + pending.write.bytes <= MAX_BATCH_BYTES);
      if (!fits) {
        i++;
        continue;
      }
      this.#queue.splice(i, 1);
      batch.push(pending);
      heads.add(pending.id);
      bytes += pending.write.bytes;
      // A write too large to share an operation goes alone.
      if (pending.write.bytes > MAX_BATCH_BYTES) break;
    }
    return batch;
  }

  async #run(batch: Pending[]): Promise<void> {
    if (batch.length === 1) return await this.#alone(batch[0]);
    let outcome: KvCommitOutcome | undefined;
    try {
      outcome = await commitOnce(this.#kv, batch.map((pending) => pending.write));
    } catch {
      outcome = undefined; // refused as a whole (e.g. a size limit): each write alone says which, if any
      // Perhaps a hosted Deno KV's limit of 10 checks: keep to what every Deno KV takes.
      if (batch.length > HOSTED_BATCH_WRITES) this.#maxWrites = HOSTED_BATCH_WRITES;
    }
    if (outcome === BUSY || outcome?.ok) {
      for (const pending of batch) pending.settle.resolve(outcome);
      return;
    }
    await Promise.all(batch.map((pending) => this.#alone(pending)));
  }

  async #alone(pending: Pending): Promise<void> {
    try {
      pending.settle.resolve(await commitOnce(this.#kv, [pending.write]));
    } catch (error) {
      pending.settle.reject(error);
    }
  }
}

/**
 * Commits `writes` as one atomic operation; on SQLite's "database is locked" waits a few random milliseconds and
 * reports BUSY, so the callers try again.
 */
async function commitOnce(kv: Deno.Kv, writes: KvWrite[]): Promise<KvCommitOutcome> {
  const op = kv.atomic();
  for (const write of writes) {
    if (write.check) op.check(write.check);
    for (const { key, value, expireIn } of write.sets) {
      op.set(key, value, expireIn === undefined ? undefined : { expireIn });
    }
    for (const key of write.deletes) op.delete(key);
  }
  try {
    return await op.commit();
  } catch (error) {
    if (!(error instanceof Error) || !/database is locked/i.test(error.message)) throw error;
    await new Promise((done) => setTimeout(done, 2 + Math.random() * 20));
    return BUSY;
  }
}
