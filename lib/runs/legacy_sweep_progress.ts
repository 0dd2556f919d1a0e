/**
 * The shared-blob sweep (./shared_blob_sweep.ts) a few pages at a time, its place kept in the store itself: for a
 * runtime that gets a bounded slice of work per invocation (a Workers cron trigger), where nobody carries the
 * cursor from one call to the next. Progress lives under `maintenance/shared-blob-sweep/<apply|dry-run>` (one per
 * mode, so a dry run never marks the real sweep done), written after each slice with the sweep's own `expireIn`,
 * so it goes too. Once the prefix is done, each further call reads the progress and does nothing else.
 *
 * A slice cut short (the invocation killed) leaves the last progress written: the next call repeats at most that
 * slice, which the sweep makes harmless (blobs already given an expiry are left alone).
 */

import type { StateStore } from "../stores/state_store.ts";
import { type SharedBlobSweepOptions, type SharedBlobSweepReport, sweepSharedBlobs } from "./shared_blob_sweep.ts";

export interface SweepProgress {
  /** Where the next slice starts; null once done. */
  cursor: string | null;
  done: boolean;
  /** Counts over every slice so far. */
  totals: Omit<SharedBlobSweepReport, "apply" | "cursor">;
  /** Epoch ms of the last slice. */
  updatedAt: number;
}

export function progressKey(apply: boolean): string {
  return `maintenance/shared-blob-sweep/${apply ? "apply" : "dry-run"}`;
}

/** One slice (`maxPages` pages of `limit` keys) from where the last one stopped; the progress after it. */
export async function continueSharedBlobSweep(
  store: StateStore,
  options: Omit<SharedBlobSweepOptions, "cursor" | "onPage">,
): Promise<SweepProgress & { slice: SharedBlobSweepReport | null }> {
  const key = progressKey(options.apply ?? false);
  const stored = await store.get(key);
  const before: SweepProgress | null = stored ? JSON.parse(stored.value) : null;
  if (before?.done) return { ...before, slice: null };
  const slice = await sweepSharedBlobs(store, { ...options, cursor: before?.cursor ?? undefined });
  const totals = {
    ...(before?.totals ?? { scanned: 0, expiring: 0, legacy: 0, given: 0, changed: 0, other: 0, pages: 0 }),
  };
  for (const name of Object.keys(totals) as (keyof typeof totals)[]) totals[name] += slice[name];
  const progress: SweepProgress = { cursor: slice.cursor, done: slice.cursor === null, totals, updatedAt: Date.now() };
  await store.put(key, JSON.stringify(progress), { expireIn: options.expireIn });
  return { ...progress, slice };
}
