/**
 * Which legacy key is which, and the expiry today's code would give it, counted from now (the sweep,
 * ./legacy_expiry_sweep.ts, gives it to keys older servers left with none). Nothing here re-derives policy: each
 * expiry comes from the function its current writer uses.
 *
 * - `blob` (`blobs/<sha256>`): `RunLifecycle.sharedBlobSeconds`, as a stateless step writes it (./run_blobs.ts).
 * - `run` (`runs/<id>`, a `RunRecord` an older server wrote): the run's `RunLifecycle.expireIn`, but never less than
 *   `runTtlSeconds` from now. An active run stepped within `idleRunTtlSeconds` so keeps exactly the deadline its
 *   next write would give it; a finished run, or an active one that already reads as `expired`, is kept
 *   `runTtlSeconds` from the sweep rather than from its last change, so nothing an operator still sees vanishes at
 *   once.
 * - `runBlob` (`runs/<id>/blobs/<sha256>`) and `cancel` (`runs/<id>/cancel`): their run's expiry (a blob no sooner
 *   than the record's `blobsUntil`), so none goes before the record relying on it. The run's next commit renews its
 *   blobs as usual (a record with no `blobsUntil` rewrites them). A key whose record is gone (an orphan: nothing can
 *   read it) gets `runTtlSeconds`, as a finished run's.
 * - `token` (`tokens/<id>`, a `TokenLedger` entry): the longest its writer gives, a token's full life
 *   (`stateTtlSeconds`) plus the ledger's margin (`ledgerExpireIn`, ./token_ledger.ts).
 * - `hook` (`hooks/<agent>/<id>`, a webhook delivery claim): the replay window its writer gives
 *   (`deliveryWindowSeconds`, lib/webhooks/delivery_claims.ts).
 *
 * A key under these prefixes of another shape, or whose value is not what its writer writes (a record that does not
 * parse, a token entry that is no ledger entry), is `other`: left alone and counted.
 */

import type { StateStore } from "../stores/state_store.ts";
import type { RunLifecycle } from "./run_lifecycle.ts";
import { parseStored } from "./run_record.ts";
import { ledgerExpireIn } from "./token_ledger.ts";
import { DEFAULT_WEBHOOK_TOLERANCE_SECONDS, deliveryWindowSeconds } from "../webhooks/delivery_claims.ts";

export type LegacyKind = "blob" | "run" | "runBlob" | "cancel" | "token" | "hook";

/** The prefixes the sweep lists, in the order it sweeps them. */
export const LEGACY_PREFIXES = ["blobs/", "runs/", "tokens/", "hooks/"] as const;
export type LegacyPrefix = typeof LEGACY_PREFIXES[number];

/** The expiries the sweep gives; `lifecycle` is needed for `runs/` and `tokens/`, `hookWindowSeconds` for `hooks/`. */
export interface LegacyExpiryRules {
  sharedBlobSeconds: number;
  lifecycle?: RunLifecycle;
  hookWindowSeconds?: number;
}

/** The rules of a server with this lifecycle and webhook tolerance (`AppOptions.webhookToleranceSeconds`). */
export function legacyExpiryRules(
  lifecycle: RunLifecycle,
  webhookToleranceSeconds = DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
): Required<LegacyExpiryRules> {
  return {
    sharedBlobSeconds: lifecycle.sharedBlobSeconds,
    lifecycle,
    hookWindowSeconds: deliveryWindowSeconds(webhookToleranceSeconds),
  };
}

export interface ClassifiedKey {
  kind: LegacyKind;
  /** The run a `run`, `runBlob` or `cancel` key belongs to. */
  runId?: string;
}

const RUN_ID = "[A-Za-z0-9-]{1,64}";
const SHAPES: Array<[LegacyKind, RegExp]> = [
  ["blob", /^blobs\/[0-9a-f]{64}$/],
  ["run", new RegExp(`^runs/(${RUN_ID})$`)],
  ["runBlob", new RegExp(`^runs/(${RUN_ID})/blobs/[0-9a-f]{64}$`)],
  ["cancel", new RegExp(`^runs/(${RUN_ID})/cancel$`)],
  ["token", /^tokens\/[A-Za-z0-9_-]{16,64}$/],
  ["hook", /^hooks\/[^/]+\/.+$/],
];

/** The kind of `key`, by its shape alone; null for a shape no writer uses. */
export function classifyKey(key: string): ClassifiedKey | null {
  for (const [kind, shape] of SHAPES) {
    const match = shape.exec(key);
    if (match) return { kind, runId: match[1] };
  }
  return null;
}

/** A run's expiry from the sweep (see above), or null when its record does not parse; cached per page by the caller. */
export type RunExpiry = { expireIn: number; blobsUntil?: number } | "orphan" | null;

/** Reads `runs/<id>` and gives what its run's keys get; "orphan" when it is gone, null when it is not a record. */
export async function runExpiry(store: StateStore, runId: string, lifecycle: RunLifecycle, now: number) {
  const stored = await store.get(`runs/${runId}`);
  return stored ? recordExpiry(stored.value, stored.version, lifecycle, now) : "orphan" as const;
}

function recordExpiry(
  value: string,
  version: string,
  lifecycle: RunLifecycle,
  now: number,
): Exclude<RunExpiry, "orphan"> {
  try {
    const { record } = parseStored({ value, version });
    if (typeof record.runId !== "string" || typeof record.agent !== "string") return null;
    const expireIn = Math.max(lifecycle.expireIn(record.state, now), lifecycle.runTtlSeconds);
    return { expireIn, blobsUntil: record.blobsUntil };
  } catch {
    return null;
  }
}

/**
 * Seconds to give a legacy key of `kind` whose stored text is `value`; null when the value is not what its writer
 * writes (left alone, counted as other). `run` is its run's expiry (for `runBlob` and `cancel`).
 */
export function legacyExpireIn(
  kind: LegacyKind,
  value: string,
  rules: LegacyExpiryRules,
  now: number,
  run?: RunExpiry,
): number | null {
  const lifecycle = rules.lifecycle;
  switch (kind) {
    case "blob":
      return rules.sharedBlobSeconds;
    case "run": {
      const expiry = lifecycle && recordExpiry(value, "", lifecycle, now);
      return expiry ? expiry.expireIn : null;
    }
    case "runBlob":
    case "cancel": {
      if (!lifecycle || !run) return null;
      if (run === "orphan") return lifecycle.runTtlSeconds;
      const blobs = kind === "runBlob" && run.blobsUntil ? (run.blobsUntil - now) / 1000 : 0;
      return Math.max(run.expireIn, blobs);
    }
    case "token":
      return lifecycle && isLedgerEntry(value)
        ? ledgerExpireIn(Math.floor(now / 1000) + lifecycle.stateTtlSeconds, now)
        : null;
    case "hook":
      return rules.hookWindowSeconds !== undefined && isDeliveryClaim(value) ? rules.hookWindowSeconds : null;
  }
}

function isLedgerEntry(value: string): boolean {
  try {
    const entry = JSON.parse(value);
    return ["running", "used", "free"].includes(entry?.status);
  } catch {
    return false;
  }
}

/** A claim being created (`pending:<ms>`, or `""` from the oldest servers) or the run id it started. */
function isDeliveryClaim(value: string): boolean {
  return value === "" || /^pending:\d+$/.test(value) || new RegExp(`^${RUN_ID}$`).test(value);
}
