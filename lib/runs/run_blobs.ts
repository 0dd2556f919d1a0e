import { type BlobContent, BlobError, formatBlobRef } from "../stores/blob_ref.ts";
import { BlobStore } from "../stores/blob_store.ts";
import type { StateStore } from "../stores/state_store.ts";

/**
 * Each KV run keeps its blobs under its own prefix, `runs/<runId>/blobs/<sha256>`, so a run's blobs go with it:
 * deleting a run deletes exactly its blobs, and they expire with it (`RunRecord.blobsUntil`, see ./run_lifecycle.ts).
 * Two runs that store identical content each hold a copy, so neither's deletion or expiry breaks the other. Refs
 * keep their format (`blob:sha256:<hex>`): content addressing still dedupes within a run and checks integrity on
 * read. On a Durable Object store the prefix also places a run's blobs in the run's own object.
 *
 * The blobs a run uses are the refs in its record (steps, sub-runs, idempotency copies): the record is the only
 * place an agent keeps them. A blob written by a step that was then discarded is referenced nowhere; it expires
 * with the run's other blobs.
 *
 * Runs written before blobs were scoped per run kept theirs under the shared `blobs/` prefix: reads fall back to
 * it, and the run's next commit copies them under its own prefix (see `keepRunBlobs`). Shared blobs that servers
 * older than shared-blob expiry left with no expiry at all are given one by the operator's sweep
 * (./shared_blob_sweep.ts).
 */

/** Where blobs lived before they were scoped per run, and where stateless steps keep theirs. */
export const SHARED_BLOB_PREFIX = "blobs/";

export function runBlobPrefix(runId: string): string {
  return `runs/${runId}/blobs/`;
}

/** The distinct digests of the blob refs in a run record's JSON. */
export function blobDigests(recordJson: string): string[] {
  return [...new Set(Array.from(recordJson.matchAll(/blob:sha256:([0-9a-f]{64})/g), (match) => match[1]))];
}

/** One run's blobs; reads fall back to the shared prefix for runs written before blobs were per run. */
export class RunBlobStore extends BlobStore {
  readonly #store: StateStore;

  constructor(store: StateStore, runId: string, options: { expireIn?: number } = {}) {
    super(store, { prefix: runBlobPrefix(runId), expireIn: options.expireIn });
    this.#store = store;
  }

  protected override async read(sha256: string): Promise<string | null> {
    return await super.read(sha256) ?? (await this.#store.get(SHARED_BLOB_PREFIX + sha256))?.value ?? null;
  }
}

/**
 * The content of one of a run's blobs for a reader outside the run (`GET /v1/runs/{id}/blobs/{sha256}`): only a digest
 * the run's record refers to, read only under the run's own prefix (no fallback to the shared prefix, where stateless
 * runs keep theirs), so no other run's blob can be named. `null` when the run does not refer to it, or it expired.
 */
export async function readRunBlob(
  store: StateStore,
  runId: string,
  recordJson: string,
  sha256: string,
): Promise<BlobContent | null> {
  if (!/^[0-9a-f]{64}$/.test(sha256) || !blobDigests(recordJson).includes(sha256)) return null;
  try {
    return await new BlobStore(store, { prefix: runBlobPrefix(runId) }).resolve(formatBlobRef(sha256));
  } catch (error) {
    if (error instanceof BlobError && error.code === "not_found") return null;
    throw error;
  }
}

/**
 * Rewrites every blob the record refers to with `expireIn`, so none expires before the record. Missing blobs are
 * skipped (a run that still refers to one reports `not_found` when it reads it, as before). With `sharedExpireIn`
 * (only for a run written before blobs were per run), a blob found only under the shared prefix (left by an older
 * server, with no expiry) is copied under the run's prefix, and the shared copy is rewritten with `sharedExpireIn`,
 * so it no longer stays forever: other runs that use it copy it at their next commit, as this one did. Without it
 * nothing is taken from the shared prefix, where stateless runs keep theirs: a run that names another's digest gets
 * no copy of it (and `GET /v1/runs/{id}/blobs/{sha256}` none to serve).
 */
export async function keepRunBlobs(
  store: StateStore,
  runId: string,
  recordJson: string,
  expireIn: number,
  sharedExpireIn?: number,
) {
  const prefix = runBlobPrefix(runId);
  for (const sha256 of blobDigests(recordJson)) {
    let value = (await store.get(prefix + sha256))?.value;
    if (value === undefined && sharedExpireIn !== undefined) {
      value = (await store.get(SHARED_BLOB_PREFIX + sha256))?.value;
      if (value !== undefined) await store.put(SHARED_BLOB_PREFIX + sha256, value, { expireIn: sharedExpireIn });
    }
    if (value !== undefined) await store.put(prefix + sha256, value, { expireIn });
  }
}

/**
 * Rewrites every blob under the shared prefix that `json` (a stateless run's state) refers to with `expireIn`:
 * a stateless run refreshes its blobs this way whenever its next token would outlive them.
 */
export async function keepSharedBlobs(store: StateStore, json: string, expireIn: number): Promise<void> {
  for (const sha256 of blobDigests(json)) {
    const value = (await store.get(SHARED_BLOB_PREFIX + sha256))?.value;
    if (value !== undefined) await store.put(SHARED_BLOB_PREFIX + sha256, value, { expireIn });
  }
}

/** Deletes every blob the record refers to under the run's prefix (shared legacy blobs may serve other runs). */
export async function deleteRunBlobs(store: StateStore, runId: string, recordJson: string): Promise<void> {
  const prefix = runBlobPrefix(runId);
  for (const sha256 of blobDigests(recordJson)) await store.delete(prefix + sha256);
}
