/**
 * Reclaiming the blobs older servers left under the shared prefix (`blobs/`, ./run_blobs.ts) without an expiry.
 *
 * Before blobs were per run (`runs/<id>/blobs/`) every blob went under `blobs/`, and before shared blobs expired
 * (`RunLifecycle.sharedBlobSeconds`) they went there with no `expireIn`: nothing removes them. Today's code still
 * reads them, so they are not deleted but given the expiry a blob written there today gets:
 *
 * - A run written before blobs were per run reads them as a fallback (`RunBlobStore`) and, at its next commit,
 *   copies them under its own prefix and gives the shared copy this same expiry (`keepRunBlobs`). Such a run can
 *   step only within `idleRunTtlSeconds` of its last step (later it reads as `expired`), well inside
 *   `sharedBlobSeconds` (at least twice `idleRunTtlSeconds + runTtlSeconds`). A finished run never reads them
 *   (`GET /v1/runs/{id}/blobs/{sha256}` serves only the run's own prefix).
 * - Stateless runs keep their blobs under the same prefix, and their references live in state tokens the clients
 *   hold, which no listing can see. A token an older server sealed refers to such blobs; its next step rewrites every
 *   blob it refers to with an expiry (lib/http/stateless_steps.ts), and it is invalid `stateTtlSeconds` after it
 *   was sealed, inside `sharedBlobSeconds` (at least twice that). Deleting a blob no run record names could break
 *   such a token's next step; an expiry cannot.
 *
 * So the sweep rewrites each blob under the prefix that has no expiry with `expireIn` (pass the server's
 * `sharedBlobSeconds`); the store drops the ones nothing renews. Keys that already expire (blobs written by today's
 * code, or by an earlier sweep) are left alone, so a second sweep writes nothing. Each rewrite is a compare-and-set
 * against the version just read, of the same bytes: a blob someone rewrote in between (with an expiry) is left to
 * them. Dry run by default (`apply: false`): the same listing and counts, nothing written.
 *
 * Bounded: `limit` keys per page, at most `maxPages` pages per call; the returned `cursor` resumes where it stopped
 * (null when the prefix is done). Per page: one listing, then a read and a write for each blob without an expiry,
 * eight blobs at a time.
 * Run it once the upgrade is everywhere: a server older than shared-blob expiry that still runs can add more.
 */

import { canListKeys, type KeyListing, KeyListingError } from "../stores/key_listing.ts";
import type { StateStore } from "../stores/state_store.ts";
import { SHARED_BLOB_PREFIX } from "./run_blobs.ts";

export interface SharedBlobSweepOptions {
  /** Seconds to give each blob without an expiry: the server's `RunLifecycle.sharedBlobSeconds`. */
  expireIn: number;
  /** Write the expiries; default false (dry run: list and count only). */
  apply?: boolean;
  /** Where to resume: the `cursor` of an earlier report. */
  cursor?: string;
  /** Keys per page (default 100). */
  limit?: number;
  /** Most pages this call (default: until done). */
  maxPages?: number;
  /** Told after each page, with the counts so far (progress for a long sweep). */
  onPage?: (report: SharedBlobSweepReport) => void;
}

export interface SharedBlobSweepReport {
  apply: boolean;
  /** Keys listed under the shared prefix. */
  scanned: number;
  /** Keys that already expire: left alone. */
  expiring: number;
  /** Blobs without an expiry found (legacy). */
  legacy: number;
  /** Of those, given `expireIn` (0 in a dry run). */
  given: number;
  /** Of those, gone or rewritten by someone else between the listing and the rewrite: left alone. */
  changed: number;
  /** Keys under the prefix that are not `blobs/<sha256 hex>`: left alone. */
  other: number;
  /** Pages read in this call. */
  pages: number;
  /** Pass back as `cursor` to go on; null when the whole prefix has been swept. */
  cursor: string | null;
}

const BLOB_KEY = /^blobs\/[0-9a-f]{64}$/;
/** Blobs rewritten at once within a page. */
const CONCURRENT_REWRITES = 8;

/** Thrown when the store cannot list the shared prefix (no listing, or a Durable Object store). */
export function assertSweepable(store: StateStore): asserts store is StateStore & KeyListing {
  if (!canListKeys(store)) {
    throw new KeyListingError("unsupported", "this store cannot list its keys, so the shared blobs cannot be found");
  }
}

export async function sweepSharedBlobs(
  store: StateStore,
  options: SharedBlobSweepOptions,
): Promise<SharedBlobSweepReport> {
  assertSweepable(store);
  const { expireIn, apply = false, limit = 100, maxPages = Infinity } = options;
  if (!(Number.isFinite(expireIn) && expireIn > 0)) {
    throw new RangeError("expireIn must be a positive number of seconds");
  }
  const report: SharedBlobSweepReport = {
    apply,
    scanned: 0,
    expiring: 0,
    legacy: 0,
    given: 0,
    changed: 0,
    other: 0,
    pages: 0,
    cursor: options.cursor ?? null,
  };
  do {
    const page = await store.list(SHARED_BLOB_PREFIX, { limit, cursor: report.cursor ?? undefined });
    report.pages++;
    const legacy: string[] = [];
    for (const { key, expiresAt } of page.keys) {
      report.scanned++;
      if (!BLOB_KEY.test(key)) report.other++;
      else if (expiresAt !== null) report.expiring++;
      else legacy.push(key);
    }
    report.legacy += legacy.length;
    // A few rewrites at once: on Deno KV they share commits (group commit) instead of waiting for the disk in turn.
    for (let start = 0; apply && start < legacy.length; start += CONCURRENT_REWRITES) {
      const batch = legacy.slice(start, start + CONCURRENT_REWRITES);
      for (const ok of await Promise.all(batch.map((key) => giveExpiry(store, key, expireIn)))) {
        report[ok ? "given" : "changed"]++;
      }
    }
    report.cursor = page.cursor;
    options.onPage?.({ ...report });
  } while (report.cursor !== null && report.pages < maxPages);
  return report;
}

/** Rewrites the blob's own bytes with `expireIn`, if it is still the version just read; false if it changed. */
async function giveExpiry(store: StateStore, key: string, expireIn: number): Promise<boolean> {
  const current = await store.get(key);
  if (current === null) return false;
  return (await store.put(key, current.value, { expectedVersion: current.version, expireIn })).ok;
}
