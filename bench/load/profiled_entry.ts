/**
 * functions/deno.ts for `deno task load --cpu-prof=DIR`: the same entry, plus a SIGTERM handler that exits through
 * `Deno.exit`, so the V8 CPU profile that `--cpu-prof` collects is written when the load driver stops the server
 * (a process killed by the signal itself writes nothing).
 */
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
await import("../../functions/deno.ts");
