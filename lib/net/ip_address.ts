/**
 * What kind of network an IP address belongs to, for the egress guard. Input is the canonical text WHATWG URL
 * parsing leaves (dotted-decimal IPv4, IPv6 without brackets); every other IPv4 spelling (decimal, octal, hex,
 * short forms) has already been normalised by `new URL`, and DNS answers come in canonical form too.
 *
 * Only public unicast addresses are `public`. IPv6 is public only inside 2000::/3 and outside its special ranges,
 * so forms that embed an IPv4 address (mapped, compatible, NAT64, Teredo) never count as public; 6to4 takes the
 * kind of the IPv4 address it embeds.
 */

/** `local`: loopback, private, link-local, CGNAT and unique-local (reachable with the local-network opt-in). */
export type AddressKind = "public" | "local" | "metadata" | "reserved";

export interface AddressClass {
  kind: AddressKind;
  /** Why, for error messages: "loopback", "private (10/8)", "cloud metadata"... */
  label: string;
}

/** Instance-metadata endpoints, refused even when local networks are allowed. */
const METADATA_V4 = new Set([
  "169.254.169.254", // AWS, GCP, Azure, Oracle, OpenStack, DigitalOcean...
  "169.254.170.2", // AWS ECS task credentials
  "168.63.129.16", // Azure WireServer (a public address)
  "100.100.100.200", // Alibaba Cloud
  "192.0.0.192", // Oracle Cloud (legacy)
]);
const METADATA_V6 = ["fd00:ec2::254"]; // AWS IMDS over IPv6

type Range4 = [base: string, bits: number, kind: AddressKind, label: string];

const RANGES_V4: Range4[] = [
  ["0.0.0.0", 8, "reserved", "'this network' (0/8)"],
  ["10.0.0.0", 8, "local", "private (10/8)"],
  ["100.64.0.0", 10, "local", "shared / CGNAT (100.64/10)"],
  ["127.0.0.0", 8, "local", "loopback (127/8)"],
  ["169.254.0.0", 16, "local", "link-local (169.254/16)"],
  ["172.16.0.0", 12, "local", "private (172.16/12)"],
  ["192.0.0.0", 24, "reserved", "IETF protocol assignments (192.0.0/24)"],
  ["192.0.2.0", 24, "reserved", "documentation (192.0.2/24)"],
  ["192.88.99.0", 24, "reserved", "6to4 relay anycast (192.88.99/24)"],
  ["192.168.0.0", 16, "local", "private (192.168/16)"],
  ["198.18.0.0", 15, "reserved", "benchmarking (198.18/15)"],
  ["198.51.100.0", 24, "reserved", "documentation (198.51.100/24)"],
  ["203.0.113.0", 24, "reserved", "documentation (203.0.113/24)"],
  ["224.0.0.0", 4, "reserved", "multicast (224/4)"],
  ["240.0.0.0", 4, "reserved", "reserved / broadcast (240/4)"],
];

/** The 32-bit value of a dotted-decimal IPv4 address, or undefined when `text` is not exactly one. */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((part) => /^(0|[1-9]\d{0,2})$/.test(part) && Number(part) <= 255)) {
    return undefined;
  }
  return parts.reduce((value, part) => value * 256 + Number(part), 0);
}

/** Eight 16-bit groups of an IPv6 address (no brackets, no zone; a trailing dotted IPv4 is accepted). */
export function parseIPv6(text: string): number[] | undefined {
  let rest = text.toLowerCase();
  const tail: number[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(rest);
  if (dotted) {
    const v4 = parseIPv4(dotted[2]);
    if (v4 === undefined) return undefined;
    tail.push(v4 >>> 16, v4 & 0xffff);
    rest = dotted[1].endsWith("::") ? dotted[1] : dotted[1].slice(0, -1);
  }
  const halves = rest.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string) => (half === "" ? [] : half.split(":"));
  const [head, after] = [groups(halves[0]), halves.length === 2 ? groups(halves[1]) : []];
  if (![...head, ...after].every((group) => /^[0-9a-f]{1,4}$/.test(group))) return undefined;
  const given = head.length + after.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return undefined;
  const zeros: number[] = Array(8 - given).fill(0);
  return [...head.map(hex), ...zeros, ...after.map(hex), ...tail];
}

function hex(group: string): number {
  return parseInt(group, 16);
}

function inRange4(address: number, base: string, bits: number): boolean {
  const shift = 32 - bits;
  return Math.floor(address / 2 ** shift) === Math.floor(parseIPv4(base)! / 2 ** shift);
}

/** The class of an IPv4 address given as a 32-bit number. */
export function classifyIPv4(address: number): AddressClass {
  const text = [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join(".");
  if (METADATA_V4.has(text)) return { kind: "metadata", label: "cloud metadata" };
  const range = RANGES_V4.find(([base, bits]) => inRange4(address, base, bits));
  return range ? { kind: range[2], label: range[3] } : { kind: "public", label: "public" };
}

/** The class of an IPv6 address given as eight 16-bit groups. */
export function classifyIPv6(groups: number[]): AddressClass {
  const [g0, g1, g2, , g4, g5] = groups;
  const zeroPrefix = (count: number) => groups.slice(0, count).every((group) => group === 0);
  const reserved = (label: string): AddressClass => ({ kind: "reserved", label });
  if (METADATA_V6.some((text) => parseIPv6(text)!.every((group, i) => group === groups[i]))) {
    return { kind: "metadata", label: "cloud metadata" };
  }
  if (zeroPrefix(7) && groups[7] === 1) return { kind: "local", label: "loopback (::1)" };
  if (zeroPrefix(8)) return reserved("unspecified (::)");
  if (zeroPrefix(5) && g5 === 0xffff) return reserved("IPv4-mapped IPv6 (::ffff:0:0/96)");
  if (zeroPrefix(6)) return reserved("IPv4-compatible IPv6 (::/96)");
  if (zeroPrefix(4) && g4 === 0xffff && g5 === 0) return reserved("IPv4-translated IPv6 (::ffff:0:0:0/96)");
  if (g0 === 0x64 && g1 === 0xff9b) return reserved("NAT64 (64:ff9b::/96, 64:ff9b:1::/48)");
  if (g0 >= 0xfc00 && g0 <= 0xfdff) return { kind: "local", label: "unique-local (fc00::/7)" };
  if (g0 >= 0xfe80 && g0 <= 0xfebf) return { kind: "local", label: "link-local (fe80::/10)" };
  if (g0 >= 0xfec0 && g0 <= 0xfeff) return reserved("site-local (fec0::/10)");
  if (g0 >= 0xff00) return reserved("multicast (ff00::/8)");
  if (g0 < 0x2000 || g0 > 0x3fff) return reserved("outside global unicast (2000::/3)");
  if (g0 === 0x2001 && g1 <= 0x01ff) return reserved("IETF protocol assignments and Teredo (2001::/23)");
  if (g0 === 0x2001 && g1 === 0x0db8) return reserved("documentation (2001:db8::/32)");
  if (g0 === 0x3fff && g1 <= 0x0fff) return reserved("documentation (3fff::/20)");
  if (g0 === 0x2002) {
    const embedded = classifyIPv4(g1 * 65536 + g2);
    if (embedded.kind !== "public") return reserved(`6to4 (2002::/16) embedding ${embedded.label}`);
  }
  return { kind: "public", label: "public" };
}

/** The class of an IP address in canonical text (IPv6 with or without brackets), or undefined for a name. */
export function classifyIpAddress(text: string): AddressClass | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return classifyIPv4(v4);
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (!bare.includes(":")) return undefined;
  const v6 = parseIPv6(bare);
  return v6 ? classifyIPv6(v6) : { kind: "reserved", label: "unparsable IPv6 address" };
}
