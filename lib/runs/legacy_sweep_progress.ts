/**
 * The legacy-expiry sweep (./legacy_expiry_sweep.ts) a few pages at a time, its place kept in the store itself: for
 * a runtime that gets a bounded slice of work per invocation (a Workers cron trigger), where nobody carries the
 * cursor from one call to the next. Progress lives under `maintenance/legacy-expiry-sweep/<apply|dry-run>` (one per
 * mode, so a dry run never marks the real sweep done), written after each slice with the shared-blob expiry, so it
 * goes too. Once every prefix is done, each further call reads the progress and does nothing else.
 *
 * A slice cut short (the invocation killed) leaves the last progress written: the next call repeats at most that
 * slice, which the sweep makes harmless (keys already given an expiry are left alone).
 */

import type { StateStore } from "../stores/state_store.ts";
import {
  emptyCounts,
  type LegacySweepOptions,
  type LegacySweepReport,
  sweepLegacyExpiry,
} from "./legacy_expiry_sweep.ts";

export interface SweepProgress {
  /** Where the next slice starts; null once done. */
  cursor: string | null;
  done: boolean;
  /** Counts over every slice so far. */
  totals: Omit<LegacySweepReport, "apply" | "cursor">;
  /** Epoch ms of the last slice. */
  updatedAt: number;
}

export function progressKey(apply: boolean): string {
  return `maintenance/legacy-expiry-sweep/${apply ? "apply" : "dry-run"}`;
}

/** One slice (`maxPages` pages of `limit` keys) from where the last one stopped; the progress after it. */
export async function continueLegacySweep(
  store: StateStore,
  options: Omit<LegacySweepOptions, "cursor" | "onPage">,
): Promise<SweepProgress & { slice: LegacySweepReport | null }> {
  const key = progressKey(options.apply ?? false);
  const stored = await store.get(key);
  const before: SweepProgress | null = stored ? JSON.parse(stored.value) : null;
  if (before?.done) return { ...before, slice: null };
  const slice = await sweepLegacyExpiry(store, { ...options, cursor: before?.cursor ?? undefined });
  const totals = addCounts(before?.totals ?? emptyCounts(), slice);
  const progress: SweepProgress = { cursor: slice.cursor, done: slice.cursor === null, totals, updatedAt: Date.now() };
  await store.put(key, JSON.stringify(progress), { expireIn: options.rules.sharedBlobSeconds });
  return { ...progress, slice };
}

function addCounts(before: SweepProgress["totals"], slice: LegacySweepReport): SweepProgress["totals"] {
  const totals = structuredClone(before);
  for (const name of ["scanned", "expiring", "legacy", "given", "changed", "other", "orphans", "pages"] as const) {
    totals[name] += slice[name];
  }
  for (const [kind, counts] of Object.entries(slice.kinds) as [keyof typeof totals.kinds, typeof slice.kinds.run][]) {
    for (const name of ["expiring", "legacy", "given", "changed"] as const) totals.kinds[kind][name] += counts[name];
  }
  return totals;
}
