/**
 * The Workers side of reclaiming legacy shared blobs (lib/runs/shared_blob_sweep.ts): what the Worker's
 * `scheduled()` handler runs on each cron trigger. `SMOLSTEP_SHARED_BLOB_SWEEP` says what to do: unset or
 * `dry-run` counts (nothing written but the sweep's own progress), `apply` gives the blobs their expiry, `off`
 * nothing. Each trigger does one bounded slice ({@link SLICE}: at most 3 pages of 100 keys; each blob without an
 * expiry costs a read and a compare-and-set, which on Workers KV is a read and a write, so at most ~905 KV
 * operations, under the 1,000 an invocation may make) and keeps its place in the store
 * (lib/runs/shared_blob_sweep_progress.ts); once done, a trigger costs one read. One log line per trigger:
 * `shared-blob sweep`, with the mode, `state` (`in_progress`, `done`, `nothing_left`) and the counts so far.
 *
 * Only a store that can list the shared prefix can be swept: Workers KV can; a Durable Object store cannot (each
 * legacy blob is its own object, and a Worker cannot enumerate a namespace's objects), which is logged as a warning.
 */

import type { Logger } from "../../logging/logger.ts";
import { KeyListingError } from "../../stores/key_listing.ts";
import type { StateStore } from "../../stores/state_store.ts";
import { continueSharedBlobSweep } from "../../runs/shared_blob_sweep_progress.ts";

/** Pages and keys per page of one trigger's slice. */
export const SLICE = { maxPages: 3, limit: 100 } as const;

export type SweepMode = "off" | "dry-run" | "apply";

/** The mode `SMOLSTEP_SHARED_BLOB_SWEEP` names; anything unknown is refused (a typo must not mean "apply"). */
export function sweepMode(value: string | undefined): SweepMode {
  const mode = value?.trim() || "dry-run";
  if (mode === "off" || mode === "dry-run" || mode === "apply") return mode;
  throw new RangeError(`SMOLSTEP_SHARED_BLOB_SWEEP must be off, dry-run or apply (got '${mode.slice(0, 40)}').`);
}

export type SweepLog = Pick<Logger, "info" | "warn">;

/** One cron trigger's work; `expireIn` is the server's `sharedBlobSeconds`. */
export async function scheduledBlobSweep(
  store: StateStore | undefined,
  options: { mode: SweepMode; expireIn: number; log: SweepLog; slice?: { maxPages: number; limit: number } },
): Promise<void> {
  const { mode, expireIn, log, slice = SLICE } = options;
  if (mode === "off") return;
  if (!store) return log.warn("shared-blob sweep: this Worker has no store (bind STATE or RUNS)", { mode });
  try {
    const progress = await continueSharedBlobSweep(store, { expireIn, apply: mode === "apply", ...slice });
    const state = progress.slice ? (progress.done ? "done" : "in_progress") : "nothing_left";
    log.info("shared-blob sweep", { mode, state, expireIn, ...progress.totals });
  } catch (error) {
    if (!(error instanceof KeyListingError)) throw error;
    log.warn(`shared-blob sweep: ${error.message}`, { mode });
  }
}
