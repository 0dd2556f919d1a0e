/**
 * The end-of-test audit: every run in the KV file, read straight from disk (the server process may still be up;
 * Deno KV's SQLite file takes a second reader). Is any run still locked, holding a lock past its expiry, or left
 * `running` with nobody stepping it?
 */
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";

/** The fields of a stored run record the audit reads. */
export interface StoredRun {
  state?: { status?: string; updatedAt?: number; stepNumber?: number };
  lock?: { expiresAt: number } | null;
}

export interface RunAudit {
  runs: number;
  byStatus: Record<string, number>;
  /** Runs holding a lock that has not expired: a step in flight, or a step whose client has gone. */
  locked: number;
  /** Runs still carrying a lock that has expired (nobody released it; the next step takes it over). */
  staleLocks: number;
  /** `running` runs the clients were stepping when the time limit stopped them (the bench's doing). */
  runningLeftByTimeLimit: number;
  /** Other `running` runs: nobody will step them (creates whose client gave up, runs given up). */
  runningOrphaned: number;
  /** Of those, how many were never stepped. */
  orphanedNeverStepped: number;
  /** `running` runs not updated for longer than the lock TTL. */
  runningIdlePastLockTtl: number;
}

/** Classifies one stored run; exported for the tests. */
export function auditRuns(
  records: Iterable<[runId: string, record: StoredRun]>,
  options: { now: number; lockTtlMs: number; leftByTimeLimit: ReadonlySet<string> },
): RunAudit {
  const audit: RunAudit = {
    runs: 0,
    byStatus: {},
    locked: 0,
    staleLocks: 0,
    runningLeftByTimeLimit: 0,
    runningOrphaned: 0,
    orphanedNeverStepped: 0,
    runningIdlePastLockTtl: 0,
  };
  for (const [runId, record] of records) {
    audit.runs++;
    const status = record.state?.status ?? "unreadable";
    audit.byStatus[status] = (audit.byStatus[status] ?? 0) + 1;
    if (record.lock) {
      if (record.lock.expiresAt > options.now) audit.locked++;
      else audit.staleLocks++;
    }
    if (status !== "running") continue;
    if (options.now - (record.state?.updatedAt ?? 0) > options.lockTtlMs) audit.runningIdlePastLockTtl++;
    if (options.leftByTimeLimit.has(runId)) audit.runningLeftByTimeLimit++;
    else {
      audit.runningOrphaned++;
      if ((record.state?.stepNumber ?? 0) === 0) audit.orphanedNeverStepped++;
    }
  }
  return audit;
}

/** Reads every run record of a `DenoKvStore` (default prefix) in the KV file at `path`. */
export async function readRuns(path: string): Promise<Array<[string, StoredRun]>> {
  const kv = await Deno.openKv(path);
  try {
    const store = new DenoKvStore(kv);
    const runs: Array<[string, StoredRun]> = [];
    for await (const entry of kv.list({ prefix: ["smolstep", "v"] })) {
      const key = String(entry.key[2]);
      if (!key.startsWith("runs/")) continue;
      const value = (await store.get(key))?.value;
      if (value !== undefined) runs.push([key.slice("runs/".length), JSON.parse(value) as StoredRun]);
    }
    return runs;
  } finally {
    kv.close();
  }
}
