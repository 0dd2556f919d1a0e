/**
 * Reclaiming the blobs older servers left under the shared prefix (`blobs/`, ./run_blobs.ts) without an expiry: the
 * `blobs/` part of the legacy-expiry sweep (./legacy_expiry_sweep.ts), which also sweeps `runs/`, `tokens/` and
 * `hooks/`.
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
 * So each blob under the prefix that has no expiry is rewritten with `expireIn` (pass the server's
 * `sharedBlobSeconds`); the store drops the ones nothing renews. The safety rules (compare-and-set of the same
 * bytes, dry run by default, bounded pages, resumable cursor, a second sweep writes nothing) are the general sweep's.
 */

import type { StateStore } from "../stores/state_store.ts";
import { type LegacySweepOptions, type LegacySweepReport, sweepLegacyExpiry } from "./legacy_expiry_sweep.ts";

export { assertSweepable } from "./legacy_expiry_sweep.ts";

export interface SharedBlobSweepOptions extends Omit<LegacySweepOptions, "rules" | "prefixes" | "onPage"> {
  /** Seconds to give each blob without an expiry: the server's `RunLifecycle.sharedBlobSeconds`. */
  expireIn: number;
  /** Told after each page, with the counts so far (progress for a long sweep). */
  onPage?: (report: SharedBlobSweepReport) => void;
}

/** The general report, over `blobs/` only (every key there is a `blob` or `other`). */
export type SharedBlobSweepReport = LegacySweepReport;

export function sweepSharedBlobs(store: StateStore, options: SharedBlobSweepOptions): Promise<SharedBlobSweepReport> {
  const { expireIn, ...rest } = options;
  if (!(Number.isFinite(expireIn) && expireIn > 0)) {
    return Promise.reject(new RangeError("expireIn must be a positive number of seconds"));
  }
  return sweepLegacyExpiry(store, { ...rest, rules: { sharedBlobSeconds: expireIn }, prefixes: ["blobs/"] });
}
