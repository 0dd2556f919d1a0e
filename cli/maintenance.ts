/**
 * `smolstep maintenance sweep-blobs`: gives the blobs older servers left under the shared `blobs/` prefix of a Deno
 * KV store the expiry today's server gives them, so the store drops the ones nothing uses (see
 * lib/runs/shared_blob_sweep.ts for why they get an expiry rather than a delete). Dry run unless `--apply`. The
 * expiry is the server's (`sharedBlobSeconds`), from the same SMOLSTEP_RUN_TTL_SECONDS and
 * SMOLSTEP_IDLE_RUN_TTL_SECONDS the server reads: run it with the server's environment.
 */
import { DenoKvStore } from "../lib/adapters/deno/deno_kv_store.ts";
import { RunLifecycle } from "../lib/runs/run_lifecycle.ts";
import { type SharedBlobSweepReport, sweepSharedBlobs } from "../lib/runs/shared_blob_sweep.ts";
import { lifecycleFromEnv } from "../functions/server_options.ts";
import { EXIT_CODES } from "./exit_codes.ts";
import type { MaintenanceArguments } from "./maintenance_arguments.ts";
import type { Terminal } from "./terminal.ts";

export async function maintenance(command: MaintenanceArguments, terminal: Terminal): Promise<number> {
  const expireIn = new RunLifecycle(lifecycleFromEnv(terminal.env)).sharedBlobSeconds;
  // Deno.openKv creates a missing file: a mistyped path would sweep a new, empty database and report nothing to do.
  if (!/^https?:\/\//.test(command.kvPath) && !(await Deno.stat(command.kvPath).catch(() => null))?.isFile) {
    terminal.err(`smolstep: ${command.kvPath} is no Deno KV database file (nothing was created or swept).\n`);
    return EXIT_CODES.usage;
  }
  const kv = await Deno.openKv(command.kvPath);
  try {
    const mode = command.apply ? "apply" : "dry run (add --apply to write)";
    terminal.out(`Sweeping shared blobs in ${command.kvPath}: ${mode}; blobs without an expiry get ${expireIn} s\n`);
    const ttl = (name: string) => `${name}=${terminal.env[name] || "(default)"}`;
    terminal.out(
      `  (the server's shared-blob expiry, from ${ttl("SMOLSTEP_RUN_TTL_SECONDS")} and ` +
        `${ttl("SMOLSTEP_IDLE_RUN_TTL_SECONDS")}: run this with the server's environment)\n`,
    );
    const report = await sweepSharedBlobs(new DenoKvStore(kv), {
      expireIn,
      apply: command.apply,
      limit: command.limit,
      maxPages: command.maxPages,
      cursor: command.cursor,
      onPage: (page) => terminal.out(`  page ${page.pages}: ${summary(page)}\n`),
    });
    terminal.out(`${command.apply ? "Done" : "Dry run done"}: ${summary(report)}.\n`);
    if (report.cursor !== null) {
      terminal.out(`Stopped after ${report.pages} pages; go on with --cursor ${report.cursor}\n`);
    }
    return EXIT_CODES.succeeded;
  } finally {
    kv.close();
  }
}

function summary(report: SharedBlobSweepReport): string {
  const given = report.apply ? `${report.given} given an expiry, ${report.changed} changed meanwhile (left)` : "";
  return [
    `${report.scanned} keys scanned`,
    `${report.legacy} without an expiry`,
    `${report.expiring} already expiring`,
    `${report.other} not blobs`,
    ...(given ? [given] : []),
  ].join(", ");
}
