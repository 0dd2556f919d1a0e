/**
 * The Workers side of reclaiming legacy keys (lib/runs/legacy_expiry_sweep.ts: `blobs/`, `runs/`, `tokens/`,
 * `hooks/` keys older servers left without an expiry): what the Worker's `scheduled()` handler runs on each cron
 * trigger. `SMOLSTEP_LEGACY_SWEEP` (or its old name `SMOLSTEP_SHARED_BLOB_SWEEP`) says what to do: unset or
 * `dry-run` counts (nothing written but the sweep's own progress), `apply` gives the keys their expiry, `off`
 * nothing. Each trigger does one bounded slice ({@link SLICE}: at most 3 pages of 80 keys; a key without an expiry
 * costs a read, for a run's blob or cancel flag a read of its record, and a compare-and-set, which on Workers KV is
 * a read and a write: with 3 listings and the progress's read and write, at most 5 + 240 x 4 = 965 KV operations,
 * under the 1,000 an invocation may make) and keeps
 * its place in the store (lib/runs/legacy_sweep_progress.ts); once done, a trigger costs one read. One log line per
 * trigger: `legacy-expiry sweep`, with the mode, `state` (`in_progress`, `done`, `nothing_left`) and the counts so
 * far (per kind under `kinds`).
 *
 * Only a store that can list the prefixes can be swept: Workers KV can; a Durable Object store cannot (each run, and
 * each legacy blob, is its own object, and a Worker cannot enumerate a namespace's objects), which is logged as a
 * warning.
 */

import type { Logger } from "../../logging/logger.ts";
import { KeyListingError } from "../../stores/key_listing.ts";
import type { StateStore } from "../../stores/state_store.ts";
import type { LegacyExpiryRules } from "../../runs/legacy_keys.ts";
import { continueLegacySweep } from "../../runs/legacy_sweep_progress.ts";

/** Pages and keys per page of one trigger's slice. */
export const SLICE = { maxPages: 3, limit: 80 } as const;

export type SweepMode = "off" | "dry-run" | "apply";

/**
 * The mode `SMOLSTEP_LEGACY_SWEEP` names (`SMOLSTEP_SHARED_BLOB_SWEEP` when it is unset); anything unknown is refused
 * (a typo must not mean "apply").
 */
export function sweepMode(value: string | undefined, oldName?: string): SweepMode {
  const mode = value?.trim() || oldName?.trim() || "dry-run";
  if (mode === "off" || mode === "dry-run" || mode === "apply") return mode;
  throw new RangeError(`SMOLSTEP_LEGACY_SWEEP must be off, dry-run or apply (got '${mode.slice(0, 40)}').`);
}

export type SweepLog = Pick<Logger, "info" | "warn">;

/** One cron trigger's work; `rules` are the server's (`legacyExpiryRules`). */
export async function scheduledLegacySweep(
  store: StateStore | undefined,
  options: { mode: SweepMode; rules: LegacyExpiryRules; log: SweepLog; slice?: { maxPages: number; limit: number } },
): Promise<void> {
  const { mode, rules, log, slice = SLICE } = options;
  if (mode === "off") return;
  if (!store) return log.warn("legacy-expiry sweep: this Worker has no store (bind STATE or RUNS)", { mode });
  try {
    const progress = await continueLegacySweep(store, { rules, apply: mode === "apply", ...slice });
    const state = progress.slice ? (progress.done ? "done" : "in_progress") : "nothing_left";
    log.info("legacy-expiry sweep", { mode, state, ...progress.totals });
  } catch (error) {
    if (!(error instanceof KeyListingError)) throw error;
    log.warn(`legacy-expiry sweep: ${error.message}`, { mode });
  }
}
