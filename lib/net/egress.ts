/**
 * The egress guard: every server-side fetch of a URL that came from outside (run callbacks, media URLs, tools
 * that fetch what a model named) goes through `guardedFetch`, so a caller cannot make the server reach its own
 * loopback, its private network or the cloud metadata service (SSRF).
 *
 * Rules by default: https only; no credentials in the URL; the host must be a public name or a public unicast
 * address. Refused: loopback, private, link-local, CGNAT, unique-local IPv6, IPv6 forms that embed IPv4 (mapped,
 * compatible, NAT64, Teredo; 6to4 by its embedded address), multicast, reserved and documentation ranges,
 * `localhost` and `*.localhost`, single-label and private-use names (.local, .internal...), and cloud metadata
 * names and addresses. WHATWG URL parsing normalises every IPv4 spelling (decimal, octal, hex, short forms), IDN
 * and percent-encoding first, and the URL that was checked is the one fetched, so no parser can disagree.
 *
 * Redirects are never followed blindly: each hop is fetched with `redirect: "manual"` and checked again, up to
 * `maxRedirects` hops. Limit: Web fetch resolves DNS itself and cannot be pinned to an address, so a public name
 * whose DNS answers a private address (or rebinds between a check and the fetch) is not caught by the URL rules;
 * `resolveHost` narrows this where the runtime can resolve names (see lib/adapters/deno/deno_resolve_host.ts).
 */

import { SmolstepError } from "../errors.ts";
import { type AddressClass, classifyIpAddress } from "./ip_address.ts";
import { classifyHostName } from "./host_name.ts";

export interface EgressPolicy {
  /**
   * Allowed regardless of the address rules: host names or IP addresses (`"api.internal.example"`,
   * `"*.corp.example"` for its subdomains, `"10.0.0.7"`, `"fd00::7"`; https only unless `allowHttp`), or
   * origins (`"http://10.0.0.7:8080"`: exactly that scheme, host and port). Entries are normalised like URLs.
   */
  allowHosts?: readonly string[];
  /**
   * Local development and private deployments: also allow http: and loopback, private, link-local, CGNAT and
   * unique-local addresses, `localhost` and intranet names. Cloud metadata names and addresses and reserved
   * ranges stay refused (list them in `allowHosts` if you really mean it).
   */
  allowPrivateNetwork?: boolean;
  /** Allow http: URLs to public hosts (default: https only). */
  allowHttp?: boolean;
  /** Allow `user:password@` in URLs (default: refused; they would be sent as Basic auth). */
  allowCredentials?: boolean;
  /** Redirect hops followed (each one checked); default 3, 0 refuses every redirect. */
  maxRedirects?: number;
  /**
   * Resolves a host name to its addresses before each fetch; when given, a name with any non-public address is
   * refused (same rules as literal addresses). Narrows DNS tricks (`127.0.0.1.nip.io`); it cannot stop a
   * resolver that answers differently a moment later, because fetch resolves again.
   */
  resolveHost?: (hostname: string) => Promise<string[]>;
}

export type UrlCheck = { allowed: true; url: URL } | { allowed: false; reason: string };

/** A URL the egress policy refuses. `code` is the HTTP error code run creation answers with. */
export class EgressError extends SmolstepError {
  override name = "EgressError";
  declare readonly code: "url_not_allowed";
  constructor(readonly url: string, readonly reason: string) {
    super(`URL not allowed (${reason})`, { code: "url_not_allowed" });
  }
}

const DEFAULT_MAX_REDIRECTS = 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Headers a cross-origin redirect must not carry on (as the Fetch standard does for Authorization). */
const ORIGIN_BOUND_HEADERS = ["authorization", "cookie", "proxy-authorization"];

/** Checks a URL against the policy without any network access (no DNS). */
export function checkUrl(input: string | URL, policy: EgressPolicy = {}): UrlCheck {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    return { allowed: false, reason: "not a valid URL" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { allowed: false, reason: `scheme ${url.protocol} is not allowed` };
  }
  if ((url.username || url.password) && !policy.allowCredentials) {
    return { allowed: false, reason: "credentials in the URL are not allowed" };
  }
  const listed = allowlistMatch(url, policy.allowHosts ?? []);
  if (listed === "origin") return { allowed: true, url };
  if (url.protocol === "http:" && !policy.allowHttp && !policy.allowPrivateNetwork) {
    return { allowed: false, reason: "http: is not allowed (https only)" };
  }
  if (listed === "host") return { allowed: true, url };
  const refusal = refusedHost(url.hostname, policy);
  return refusal ? { allowed: false, reason: refusal } : { allowed: true, url };
}

/** Like `checkUrl`, but throws `EgressError`; returns the parsed URL to fetch. */
export function assertUrlAllowed(input: string | URL, policy: EgressPolicy = {}): URL {
  const check = checkUrl(input, policy);
  if (!check.allowed) throw new EgressError(String(input), check.reason);
  return check.url;
}

/**
 * `fetch` for URLs from outside: the URL and every redirect hop are checked against the policy (and resolved with
 * `policy.resolveHost` when given). Throws `EgressError` for a refused URL or hop, or past `maxRedirects`.
 * `init.redirect: "manual"` returns the first 3xx as it is; `"error"` throws on one. A redirect that would resend a
 * streamed body is returned as it is (a stream cannot be sent twice). `transport` performs each hop (default: the
 * global `fetch`).
 */
export async function guardedFetch(
  input: string | URL,
  init: RequestInit = {},
  policy: EgressPolicy = {},
  transport?: typeof fetch,
): Promise<Response> {
  let url = assertUrlAllowed(input, policy);
  let method = (init.method ?? "GET").toUpperCase();
  let body = init.body;
  const headers = new Headers(init.headers);
  const maxRedirects = policy.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  for (let hop = 0;; hop++) {
    await assertResolvesPublic(url, policy);
    const hopInit: RequestInit = { ...init, method, body, headers, redirect: "manual" };
    const response = await (transport ? transport(url.href, hopInit) : fetch(url.href, hopInit));
    if (response.type === "opaqueredirect") {
      throw new EgressError(url.href, "redirect that this runtime does not let us inspect");
    }
    const location = response.headers.get("location");
    if (!REDIRECTS.has(response.status) || location === null || init.redirect === "manual") return response;
    // As the Fetch standard: 303 (and 301/302 after a POST) continue as a GET without the body.
    const toGet = (response.status === 303 && method !== "GET" && method !== "HEAD") ||
      (response.status <= 302 && method === "POST");
    if (!toGet && body instanceof ReadableStream) return response; // a streamed body cannot be sent twice
    await response.body?.cancel();
    if (init.redirect === "error") throw new TypeError(`${url.href} redirected, and redirect is "error"`);
    if (hop >= maxRedirects) throw new EgressError(url.href, `more than ${maxRedirects} redirect(s)`);
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new EgressError(location, "redirect to an invalid URL");
    }
    next = assertUrlAllowed(next, policy);
    if (toGet) {
      [method, body] = ["GET", undefined];
      for (const name of ["content-type", "content-length", "content-encoding", "content-language"]) {
        headers.delete(name);
      }
    }
    if (next.origin !== url.origin) { for (const name of ORIGIN_BOUND_HEADERS) headers.delete(name); }
    url = next;
  }
}

/** Which allowlist entry, if any, admits this URL: an origin entry, or a host entry. */
function allowlistMatch(url: URL, entries: readonly string[]): "origin" | "host" | undefined {
  let host = false;
  for (const entry of entries) {
    const trimmed = entry.trim();
    if (trimmed.includes("://")) {
      if (parseOrNull(trimmed)?.origin === url.origin) return "origin";
      continue;
    }
    const wildcard = trimmed.startsWith("*.");
    const bare = wildcard ? trimmed.slice(2) : trimmed;
    const bracketed = !bare.startsWith("[") && bare.split(":").length > 2 ? `[${bare}]` : bare; // a bare IPv6
    const pattern = parseOrNull(`https://${bracketed}`);
    if (!pattern || (pattern.port && pattern.port !== url.port)) continue;
    const [want, have] = [trimDots(pattern.hostname), trimDots(url.hostname)];
    if (wildcard ? have.endsWith(`.${want}`) : have === want) host = true;
  }
  return host ? "host" : undefined;
}

/** Why the policy refuses this hostname (an IP literal or a name), or undefined when it is allowed. */
function refusedHost(hostname: string, policy: EgressPolicy): string | undefined {
  const found: AddressClass = classifyIpAddress(hostname) ?? classifyHostName(hostname);
  if (found.kind === "public") return undefined;
  if (found.kind === "local" && policy.allowPrivateNetwork) return undefined;
  return `${trimDots(hostname)} is ${found.label}`;
}

async function assertResolvesPublic(url: URL, policy: EgressPolicy): Promise<void> {
  if (!policy.resolveHost || classifyIpAddress(url.hostname)) return;
  if (allowlistMatch(url, policy.allowHosts ?? [])) return;
  let addresses: string[];
  try {
    addresses = await policy.resolveHost(trimDots(url.hostname));
  } catch (error) {
    throw new EgressError(url.href, `${url.hostname} could not be resolved: ${(error as Error).message}`);
  }
  if (addresses.length === 0) throw new EgressError(url.href, `${url.hostname} has no address`);
  for (const address of addresses) {
    const refusal = refusedHost(address.includes(":") ? `[${address}]` : address, policy);
    if (refusal) throw new EgressError(url.href, `${url.hostname} resolves to ${address}: ${refusal}`);
  }
}

function parseOrNull(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

function trimDots(hostname: string): string {
  return hostname.replace(/\.+$/, "");
}
