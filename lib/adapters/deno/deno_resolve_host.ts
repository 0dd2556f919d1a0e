/**
 * Deno adapter for the egress guard's `resolveHost`: looks a host name up with `Deno.resolveDns` (A and AAAA), so
 * `guardedFetch` can refuse public names that point at private addresses (`127.0.0.1.nip.io`, a DNS entry an
 * attacker controls). Needs `--allow-net`.
 *
 * Limits, said plainly: fetch resolves the name again on its own, so a resolver that answers a public address
 * here and a private one a moment later (DNS rebinding) still wins; and `Deno.resolveDns` asks the DNS servers
 * directly, without /etc/hosts. Network-level egress rules are the complete answer; this narrows the gap.
 */

export interface DenoResolveHostOptions {
  /** DNS server to ask instead of the system's (`Deno.resolveDns`'s `nameServer`). */
  nameServer?: { ipAddr: string; port?: number };
}

export function denoResolveHost(options: DenoResolveHostOptions = {}): (hostname: string) => Promise<string[]> {
  return async (hostname) => {
    const lookups = await Promise.allSettled([
      Deno.resolveDns(hostname, "A", options),
      Deno.resolveDns(hostname, "AAAA", options),
    ]);
    const addresses = lookups.flatMap((lookup) => (lookup.status === "fulfilled" ? lookup.value : []));
    const failed = lookups.find((lookup) => lookup.status === "rejected");
    if (addresses.length === 0 && failed) throw failed.reason;
    return addresses;
  };
}
