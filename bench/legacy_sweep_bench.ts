/**
 * How long the legacy-expiry sweep (lib/runs/legacy_expiry_sweep.ts) takes on a Deno KV file an older deployment
 * left: `LEGACY_RUNS` runs (default 1,000), each a record in the old shape (half finished, half active), its cancel
 * flag and one blob under its prefix, plus as many shared blobs, ledger entries and delivery claims, all without an
 * expiry (6 keys a run). It times a dry run, the applied sweep, and a second sweep (nothing left to do), each over
 * the whole store in pages of 100.
 *
 *   deno run -A --unstable-kv bench/legacy_sweep_bench.ts
 *   LEGACY_RUNS=5000 deno run -A --unstable-kv bench/legacy_sweep_bench.ts
 *
 * Measured (1,000 runs, 6,000 keys, 64 pages; 2 shared cores at load average 8.7 and 11.2, two runs): dry run 1.7 s
 * and 2.0 s, apply 9.0 s and 5.1 s, second sweep 0.13 s and 0.09 s.
 */
import { BlobStore } from "../lib/stores/blob_store.ts";
import { DenoKvStore } from "../lib/adapters/deno/deno_kv_store.ts";
import { sweepLegacyExpiry } from "../lib/runs/legacy_expiry_sweep.ts";
import { legacyExpiryRules } from "../lib/runs/legacy_keys.ts";
import { RunLifecycle } from "../lib/runs/run_lifecycle.ts";
import { oldRunRecord, readerState } from "../tests/support/legacy_keys.ts";

const RUNS = Number(Deno.env.get("LEGACY_RUNS") ?? 1_000);

const dir = await Deno.makeTempDir({ prefix: "smolstep-legacy-bench-" });
const kv = await Deno.openKv(`${dir}/state.sqlite3`);
const store = new DenoKvStore(kv);
try {
  const state = readerState("An old task.");
  for (let i = 0; i < RUNS; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, RUNS - i) }, async (_, j) => {
      const n = i + j;
      const runId = crypto.randomUUID();
      const status = n % 2 ? "succeeded" as const : "running" as const;
      await store.put(`runs/${runId}`, oldRunRecord(runId, { ...state, status, updatedAt: Date.now() - 86_400_000 }));
      await store.put(`runs/${runId}/cancel`, String(Date.now()));
      await new BlobStore(store, { prefix: `runs/${runId}/blobs/` }).put(`page of run ${n}`);
      await new BlobStore(store).put(`shared page ${n}`);
      await store.put(`tokens/tok_${n.toString().padStart(16, "0")}`, JSON.stringify({ status: "used" }));
      await store.put(`hooks/reader/${n.toString(16).padStart(64, "0")}`, runId);
    }));
  }
  const rules = legacyExpiryRules(new RunLifecycle());
  for (const [name, apply] of [["dry run", false], ["apply", true], ["second sweep", true]] as const) {
    const start = performance.now();
    const report = await sweepLegacyExpiry(store, { rules, apply });
    const seconds = (performance.now() - start) / 1000;
    console.log(
      `${name}: ${seconds.toFixed(2)} s, ${report.scanned} keys scanned, ${report.legacy} without an expiry, ` +
        `${report.given} given, ${report.other} other, ${report.pages} pages`,
    );
  }
} finally {
  kv.close();
  await Deno.remove(dir, { recursive: true });
}
