/**
 * `smolstep maintenance sweep` (old name `sweep-blobs`): gives the keys older servers left without an expiry in a
 * Deno KV store (`blobs/`, `runs/`, `tokens/`, `hooks/`) the expiry today's server gives them, counted from the
 * sweep, so the store drops the ones nothing uses (see lib/runs/legacy_expiry_sweep.ts and ./legacy_keys.ts for
 * which expiry each kind gets, and why nothing is deleted). Dry run unless `--apply`. The expiries are the server's,
 * from the same SMOLSTEP_RUN_TTL_SECONDS and SMOLSTEP_IDLE_RUN_TTL_SECONDS the server reads: run it with the server's
 * environment.
 */
import { DenoKvStore } from "../lib/adapters/deno/deno_kv_store.ts";
import { RunLifecycle } from "../lib/runs/run_lifecycle.ts";
import { type LegacySweepReport, sweepLegacyExpiry } from "../lib/runs/legacy_expiry_sweep.ts";
import { legacyExpiryRules } from "../lib/runs/legacy_keys.ts";
import { ledgerExpireIn } from "../lib/runs/token_ledger.ts";
import { lifecycleFromEnv } from "../functions/server_options.ts";
import { EXIT_CODES } from "./exit_codes.ts";
import type { MaintenanceArguments } from "./maintenance_arguments.ts";
import type { Terminal } from "./terminal.ts";

export async function maintenance(command: MaintenanceArguments, terminal: Terminal): Promise<number> {
  const lifecycle = new RunLifecycle(lifecycleFromEnv(terminal.env));
  const rules = legacyExpiryRules(lifecycle);
  // Deno.openKv creates a missing file: a mistyped path would sweep a new, empty database and report nothing to do.
  if (!/^https?:\/\//.test(command.kvPath) && !(await Deno.stat(command.kvPath).catch(() => null))?.isFile) {
    terminal.err(`smolstep: ${command.kvPath} is no Deno KV database file (nothing was created or swept).\n`);
    return EXIT_CODES.usage;
  }
  const kv = await Deno.openKv(command.kvPath);
  try {
    const mode = command.apply ? "apply" : "dry run (add --apply to write)";
    terminal.out(`Sweeping keys without an expiry in ${command.kvPath}: ${mode}\n`);
    terminal.out(
      `  blobs/ get ${rules.sharedBlobSeconds} s; finished runs ${lifecycle.runTtlSeconds} s (active runs their idle ` +
        `deadline, at least that), with their blobs and cancel flags; tokens/ up to ` +
        `${
          ledgerExpireIn(Math.floor(Date.now() / 1000) + lifecycle.stateTtlSeconds)
        } s; hooks/ ${rules.hookWindowSeconds} s\n`,
    );
    const ttl = (name: string) => `${name}=${terminal.env[name] || "(default)"}`;
    terminal.out(
      `  (the server's expiries, from ${ttl("SMOLSTEP_RUN_TTL_SECONDS")} and ` +
        `${ttl("SMOLSTEP_IDLE_RUN_TTL_SECONDS")}: run this with the server's environment)\n`,
    );
    const report = await sweepLegacyExpiry(new DenoKvStore(kv), {
      rules,
      apply: command.apply,
      limit: command.limit,
      maxPages: command.maxPages,
      cursor: command.cursor,
      onPage: (page) => terminal.out(`  page ${page.pages}: ${summary(page)}\n`),
    });
    terminal.out(`${command.apply ? "Done" : "Dry run done"}: ${summary(report)}.\n`);
    terminal.out(`  per kind: ${perKind(report)}\n`);
    if (report.cursor !== null) {
      terminal.out(`Stopped after ${report.pages} pages; go on with --cursor ${report.cursor}\n`);
    }
    return EXIT_CODES.succeeded;
  } finally {
    kv.close();
  }
}

function summary(report: LegacySweepReport): string {
  const given = report.apply ? `${report.given} given an expiry, ${report.changed} changed meanwhile (left)` : "";
  return [
    `${report.scanned} keys scanned`,
    `${report.legacy} without an expiry`,
    `${report.expiring} already expiring`,
    `${report.other} not recognised (left)`,
    ...(given ? [given] : []),
  ].join(", ");
}

function perKind(report: LegacySweepReport): string {
  return Object.entries(report.kinds)
    .map(([kind, counts]) =>
      `${kind} ${counts.legacy} without${report.apply ? ` (${counts.given} given)` : ""}, ${counts.expiring} expiring`
    )
    .join("; ") + (report.orphans ? `; ${report.orphans} of a run that is gone` : "");
}
