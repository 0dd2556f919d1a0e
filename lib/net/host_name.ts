/**
 * What a host name (not an IP literal) says about where it leads, before any DNS lookup: names that only resolve
 * inside a machine or a private network, and cloud metadata names. Input is a hostname as WHATWG URL leaves it
 * (lowercase, IDN in punycode, percent-decoded); trailing dots are ignored here, as DNS ignores them.
 */

import type { AddressClass } from "./ip_address.ts";

/** Instance-metadata host names, refused even when local networks are allowed. */
const METADATA_NAMES = new Set([
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
  "metadata.tencentyun.com",
  "metadata.platformequinix.com",
]);

/** Suffixes that never resolve on the public internet (RFC 6761, RFC 6762, RFC 8375, ICANN's .internal). */
const LOCAL_SUFFIXES = ["local", "internal", "localdomain", "home.arpa", "lan", "intranet", "corp", "svc"];

export function classifyHostName(hostname: string): AddressClass {
  const name = hostname.toLowerCase().replace(/\.+$/, "");
  const labels = name.split(".");
  if (METADATA_NAMES.has(name)) return { kind: "metadata", label: "cloud metadata name" };
  // WHATWG URL turns every numeric spelling into an IP address (or refuses it); anything numeric-looking left is
  // a parser this guard does not know: refuse rather than guess what the resolver makes of it.
  if (/^(0x[0-9a-f]*|\d+)$/.test(labels[labels.length - 1])) {
    return { kind: "reserved", label: "numeric host that is no canonical IP address" };
  }
  if (name === "" || labels.some((label) => label === "")) return { kind: "reserved", label: "malformed host name" };
  if (name === "localhost" || name.endsWith(".localhost")) return { kind: "local", label: "a localhost name" };
  if (labels.length === 1) return { kind: "local", label: "single-label (intranet) name" };
  const suffix = LOCAL_SUFFIXES.find((local) => name.endsWith(`.${local}`));
  if (suffix) return { kind: "local", label: `private-use name (.${suffix})` };
  return { kind: "public", label: "public name" };
}
