/**
 * Reclaiming the keys older servers left without an expiry: under `blobs/`, `runs/`, `tokens/` and `hooks/`. Every
 * write today carries an `expireIn` (./run_lifecycle.ts); keys written before that rule live forever. The sweep
 * gives each of them the expiry today's code would give it, counted from the sweep (./legacy_keys.ts says which,
 * per kind), so an upgraded store ends bounded and nothing an operator still sees vanishes at once.
 *
 * Safety. Nothing is deleted (legacy runs may still step, old tokens still read shared blobs, see
 * ./shared_blob_sweep.ts). Only keys the listing shows without an expiry are touched, so no expiry is shortened,
 * and a second sweep writes nothing. Each rewrite is a compare-and-set against the version just read, of the same
 * bytes: a key someone rewrote in between (today's writers give it its own expiry) is left to them (on a store that is
 * not `atomic`, Workers KV, that check is read-then-write on eventually consistent reads: a legacy run stepped or
 * deleted in the last minute or so may be put back as the sweep read it, so apply there while no legacy run is in
 * use). A key whose shape or value no writer produces is left alone and counted as `other`. Dry run by default
 * (`apply: false`): the same listing, reads and counts, nothing written.
 *
 * Bounded: `limit` keys per page, at most `maxPages` pages per call, the prefixes one after the other; the returned
 * `cursor` (`<prefix index>:<store cursor>`) resumes where it stopped, null when every prefix is done. Per page: one
 * listing, then for each key without an expiry a read (and, for a run's blob or cancel flag, a read of its record,
 * once per run and page) and a write, eight keys at a time.
 * Run it once the upgrade is everywhere: an older server that still runs can add more.
 */

import { canListKeys, type KeyListing, KeyListingError } from "../stores/key_listing.ts";
import type { StateStore } from "../stores/state_store.ts";
import {
  classifyKey,
  LEGACY_PREFIXES,
  legacyExpireIn,
  type LegacyExpiryRules,
  type LegacyKind,
  type LegacyPrefix,
  type RunExpiry,
  runExpiry,
} from "./legacy_keys.ts";

export interface LegacySweepOptions {
  /** What each kind gets (`legacyExpiryRules` builds them from the server's lifecycle). */
  rules: LegacyExpiryRules;
  /** Prefixes to sweep, in this order (default all of {@link LEGACY_PREFIXES}). */
  prefixes?: readonly LegacyPrefix[];
  /** Write the expiries; default false (dry run: list, read and count only). */
  apply?: boolean;
  /** Where to resume: the `cursor` of an earlier report (with the same `prefixes`). */
  cursor?: string;
  /** Keys per page (default 100). */
  limit?: number;
  /** Most pages this call (default: until done). */
  maxPages?: number;
  /** Told after each page, with the counts so far (progress for a long sweep). */
  onPage?: (report: LegacySweepReport) => void;
}

export interface KindCounts {
  /** Keys of this kind that already expire: left alone. */
  expiring: number;
  /** Keys of this kind without an expiry (legacy). */
  legacy: number;
  /** Of those, given an expiry (0 in a dry run). */
  given: number;
  /** Of those, gone or rewritten by someone else between the listing and the rewrite: left alone. */
  changed: number;
}

export interface LegacySweepReport extends KindCounts {
  apply: boolean;
  /** Keys listed. */
  scanned: number;
  /** Keys of no known shape, or whose value is not what their writer writes: left alone. */
  other: number;
  /** Of `legacy`, a run's blob or cancel flag whose record is gone (given `runTtlSeconds`). */
  orphans: number;
  /** Counts per kind (their sums are the totals above). */
  kinds: Record<LegacyKind, KindCounts>;
  /** Pages read in this call. */
  pages: number;
  /** Pass back as `cursor` to go on; null when every prefix has been swept. */
  cursor: string | null;
}

/** Keys rewritten at once within a page. */
const CONCURRENT_REWRITES = 8;
const KINDS: readonly LegacyKind[] = ["blob", "run", "runBlob", "cancel", "token", "hook"];

/** Thrown when the store cannot list its keys (no listing, or a Durable Object store). */
export function assertSweepable(store: StateStore): asserts store is StateStore & KeyListing {
  if (!canListKeys(store)) {
    throw new KeyListingError("unsupported", "this store cannot list its keys, so legacy keys cannot be found");
  }
}

export function emptyCounts(): Omit<LegacySweepReport, "apply" | "cursor"> {
  const counts = () => ({ expiring: 0, legacy: 0, given: 0, changed: 0 });
  const kinds = Object.fromEntries(KINDS.map((kind) => [kind, counts()])) as Record<LegacyKind, KindCounts>;
  return { scanned: 0, ...counts(), other: 0, orphans: 0, kinds, pages: 0 };
}

export async function sweepLegacyExpiry(store: StateStore, options: LegacySweepOptions): Promise<LegacySweepReport> {
  assertSweepable(store);
  const { rules, prefixes = LEGACY_PREFIXES, apply = false, limit = 100, maxPages = Infinity } = options;
  for (const seconds of [rules.sharedBlobSeconds, rules.hookWindowSeconds ?? 1]) {
    if (!(Number.isFinite(seconds) && seconds > 0)) throw new RangeError("expiries must be positive seconds");
  }
  const report: LegacySweepReport = { apply, ...emptyCounts(), cursor: options.cursor ?? `0:` };
  do {
    let [index, cursor] = parseCursor(report.cursor!, prefixes.length);
    const page = await store.list(prefixes[index], { limit, cursor });
    report.pages++;
    const now = Date.now();
    const runs = new Map<string, Promise<RunExpiry>>();
    const legacy: Array<{ key: string; kind: LegacyKind; runId?: string }> = [];
    for (const { key, expiresAt } of page.keys) {
      report.scanned++;
      const classified = classifyKey(key);
      if (!classified) report.other++;
      else if (expiresAt !== null) count(report, classified.kind, "expiring");
      else legacy.push({ key, ...classified });
    }
    // A few at once: on Deno KV their writes share commits (group commit) instead of waiting for the disk in turn.
    for (let start = 0; start < legacy.length; start += CONCURRENT_REWRITES) {
      const batch = legacy.slice(start, start + CONCURRENT_REWRITES);
      const outcomes = await Promise.all(batch.map(async ({ key, kind, runId }) => {
        let run: RunExpiry | undefined;
        if ((kind === "runBlob" || kind === "cancel") && rules.lifecycle) {
          if (!runs.has(runId!)) runs.set(runId!, runExpiry(store, runId!, rules.lifecycle, now));
          run = await runs.get(runId!);
        }
        const outcome = await giveExpiry(store, key, apply, (value) => legacyExpireIn(kind, value, rules, now, run));
        return { kind, outcome, orphan: run === "orphan" };
      }));
      for (const { kind, outcome, orphan } of outcomes) {
        if (outcome === "other") {
          report.other++;
          continue;
        }
        count(report, kind, "legacy");
        if (orphan) report.orphans++;
        if (outcome !== "counted") count(report, kind, outcome);
      }
    }
    if (page.cursor === null) [index, cursor] = [index + 1, undefined];
    else cursor = page.cursor;
    report.cursor = index < prefixes.length ? `${index}:${cursor ?? ""}` : null;
    options.onPage?.({ ...report, kinds: structuredClone(report.kinds) });
  } while (report.cursor !== null && report.pages < maxPages);
  return report;
}

function count(report: LegacySweepReport, kind: LegacyKind, field: keyof KindCounts) {
  report[field]++;
  report.kinds[kind][field]++;
}

/** `[prefix index, store cursor]`; a cursor of another shape is refused. */
function parseCursor(cursor: string, prefixes: number): [number, string | undefined] {
  const match = /^(\d+):(.*)$/s.exec(cursor);
  const index = match ? Number(match[1]) : NaN;
  if (!match || index >= prefixes) {
    throw new KeyListingError("invalid_cursor", "not a cursor of this sweep (pass back a report's cursor as is)");
  }
  return [index, match[2] || undefined];
}

/**
 * Rewrites the key's own bytes with the expiry `expireIn` gives its value, if it is still the version just read:
 * `given`, `changed` (gone or rewritten meanwhile), `other` (a value no writer writes), `counted` (dry run).
 */
async function giveExpiry(
  store: StateStore,
  key: string,
  apply: boolean,
  expireIn: (value: string) => number | null,
): Promise<"given" | "changed" | "other" | "counted"> {
  const current = await store.get(key);
  if (current === null) return "changed";
  const seconds = expireIn(current.value);
  if (seconds === null) return "other";
  if (!apply) return "counted";
  const put = await store.put(key, current.value, { expectedVersion: current.version, expireIn: seconds });
  return put.ok ? "given" : "changed";
}
