/**
 * functions/deno.ts for `deno task load --cpu-prof=DIR`. The entry itself stops through `Deno.exit` on SIGTERM
 * (after writing its buffered log lines), so the V8 CPU profile that `--cpu-prof` collects is written when the load
 * driver stops the server (a process killed by the signal itself writes nothing).
 */
await import("../../functions/deno.ts");
