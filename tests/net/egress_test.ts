import assert from "node:assert/strict";
import { EgressError, type EgressPolicy, guardedFetch } from "../../lib/mod.ts";
import { checkUrl } from "../../lib/net/egress.ts";
import { classifyIpAddress } from "../../lib/net/ip_address.ts";
import { SSRF_ATTACKS as ATTACKS } from "../support/ssrf_urls.ts";

const ORDINARY: string[] = [
  "https://example.com/",
  "https://EXAMPLE.com./a?b=c#d",
  "https://api.github.com/repos/o/r/issues",
  "https://hooks.example.org:8443/smolstep",
  "https://8.8.8.8/",
  "https://1.1.1.1:8443/x",
  "https://11.0.0.1/",
  "https://172.15.255.255/",
  "https://172.32.0.1/",
  "https://100.63.255.255/",
  "https://100.128.0.1/",
  "https://169.253.255.255/",
  "https://[2606:4700:4700::1111]/",
  "https://[2002:808:808::1]/",
  "https://b\u00fccher.example/",
  "https://localhost.example.com/",
  "https://metadata.example.com/",
];

const LOCAL_DEV: EgressPolicy = { allowPrivateNetwork: true };

Deno.test("SSRF: checkUrl refuses every spelling of loopback, private, link-local and metadata targets", async (t) => {
  for (const [attack, url, reason] of ATTACKS) {
    await t.step(`${attack}: ${url}`, () => {
      const check = checkUrl(url);
      assert.equal(check.allowed, false, `${url} was allowed`);
      if (!check.allowed) assert.ok(check.reason.includes(reason), `${url}: refused for "${check.reason}"`);
    });
  }
  await t.step("userinfo tricks stay refused for their host when credentials are allowed", () => {
    for (const url of ["https://evil@127.0.0.1/", "https://example.com@127.0.0.1/", "https://u:p@[::1]/"]) {
      const check = checkUrl(url, { allowCredentials: true });
      assert.ok(!check.allowed && check.reason.includes("loopback"), url);
    }
  });
});

Deno.test("checkUrl allows ordinary public https URLs", () => {
  for (const url of ORDINARY) {
    const check = checkUrl(url);
    assert.ok(check.allowed, `${url}: ${check.allowed ? "" : check.reason}`);
  }
});

Deno.test("checkUrl says why, and returns the normalised URL it checked", () => {
  const refused = checkUrl("https://0x7f.1/");
  assert.deepEqual(refused, { allowed: false, reason: "127.0.0.1 is loopback (127/8)" });
  const metadata = checkUrl("https://metadata.google.internal./");
  assert.deepEqual(metadata, { allowed: false, reason: "metadata.google.internal is cloud metadata name" });
  const ok = checkUrl("https://EXAMPLE.com./a");
  assert.ok(ok.allowed);
  if (ok.allowed) assert.equal(ok.url.href, "https://example.com./a");
});

Deno.test("local-development opt-in allows http and loopback / private hosts, never metadata", () => {
  for (
    const url of [
      "http://127.0.0.1:8080/cb",
      "http://localhost:3000/",
      "https://[::1]/",
      "http://10.0.0.5/",
      "http://192.168.1.20:9000/",
      "http://intranet/",
      "http://model-server.internal/",
      "http://[fd12::1]/",
      "http://example.com/",
    ]
  ) {
    const check = checkUrl(url, LOCAL_DEV);
    assert.ok(check.allowed, `${url}: ${check.allowed ? "" : check.reason}`);
  }
  for (
    const url of [
      "http://169.254.169.254/",
      "http://2852039166/",
      "http://metadata.google.internal/",
      "http://metadata/",
      "http://[fd00:ec2::254]/",
      "http://100.100.100.200/",
      "http://0.0.0.0/",
      "http://[::ffff:127.0.0.1]/",
      "http://[64:ff9b::7f00:1]/",
      "http://224.0.0.1/",
      "http://user:pass@127.0.0.1/",
      "file:///etc/passwd",
    ]
  ) {
    assert.equal(checkUrl(url, LOCAL_DEV).allowed, false, `${url} was allowed in local development`);
  }
});

Deno.test("allowHosts admits listed hosts and origins, and nothing next to them", () => {
  const origin: EgressPolicy = { allowHosts: ["http://127.0.0.1:9999"] };
  assert.ok(checkUrl("http://127.0.0.1:9999/x", origin).allowed);
  assert.ok(checkUrl("http://2130706433:9999/x", origin).allowed, "origins are normalised like URLs");
  assert.equal(checkUrl("http://127.0.0.1:9998/", origin).allowed, false, "another port");
  assert.equal(checkUrl("https://127.0.0.1:9999/", origin).allowed, false, "another scheme");
  assert.equal(checkUrl("http://u:p@127.0.0.1:9999/", origin).allowed, false, "credentials stay refused");

  const host: EgressPolicy = { allowHosts: ["10.0.0.7", "*.cluster.local", " Metadata.Google.Internal "] };
  assert.ok(checkUrl("https://10.0.0.7/", host).allowed);
  assert.ok(checkUrl("https://012.0.0.7:8443/", host).allowed, "octal spelling of the listed address");
  assert.equal(checkUrl("https://10.0.0.8/", host).allowed, false);
  assert.equal(checkUrl("http://10.0.0.7/", host).allowed, false, "host entries are https only");
  assert.ok(checkUrl("http://10.0.0.7/", { ...host, allowHttp: true }).allowed);
  assert.ok(checkUrl("https://api.ns.svc.cluster.local/", host).allowed);
  assert.equal(checkUrl("https://cluster.local/", host).allowed, false, "a wildcard covers subdomains only");
  assert.equal(checkUrl("https://evilcluster.local/", host).allowed, false);
  assert.ok(checkUrl("https://metadata.google.internal/", host).allowed, "an explicit entry wins");

  const v6: EgressPolicy = { allowHosts: ["fd00::7", "[fd00::8]"] };
  assert.ok(checkUrl("https://[fd00:0::7]/", v6).allowed, "a bare IPv6 entry");
  assert.ok(checkUrl("https://[fd00::8]:8443/", v6).allowed, "a bracketed IPv6 entry");
  assert.equal(checkUrl("https://[fd00::9]/", v6).allowed, false);

  const port: EgressPolicy = { allowHosts: ["10.0.0.7:8443"] };
  assert.ok(checkUrl("https://10.0.0.7:8443/", port).allowed);
  assert.equal(checkUrl("https://10.0.0.7/", port).allowed, false);
});

Deno.test("allowHttp opens http: to public hosts only; allowCredentials opens user:password@", () => {
  assert.ok(checkUrl("http://example.com/", { allowHttp: true }).allowed);
  assert.equal(checkUrl("http://127.0.0.1/", { allowHttp: true }).allowed, false);
  assert.ok(checkUrl("https://u:p@example.com/", { allowCredentials: true }).allowed);
});

Deno.test("DNS answers in every textual form are classified (resolveHost results)", () => {
  const kind = (text: string) => classifyIpAddress(text)?.kind;
  assert.equal(kind("::ffff:127.0.0.1"), "reserved");
  assert.equal(kind("0:0:0:0:0:ffff:7f00:1"), "reserved");
  assert.equal(kind("::1"), "local");
  assert.equal(kind("fd00:ec2:0:0:0:0:0:254"), "metadata");
  assert.equal(kind("1:2:3:4:5:6:7:8:9"), "reserved", "unparsable IPv6 is never public");
  assert.equal(kind("2606:4700::1111"), "public");
  assert.equal(kind("93.184.216.34"), "public");
  assert.equal(kind("example.com"), undefined);
});

/** A transport that answers from a table and records each request. */
function scriptedTransport(routes: Record<string, (request: Request) => Response>) {
  const requests: Request[] = [];
  const transport = (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    requests.push(request);
    const route = routes[request.url];
    return Promise.resolve(route ? route(request) : new Response("no route", { status: 404 }));
  };
  return { requests, transport: transport as typeof fetch };
}

const redirect = (location: string, status = 302) => () => new Response(null, { status, headers: { location } });

Deno.test("SSRF: guardedFetch refuses before sending anything", async () => {
  const { requests, transport } = scriptedTransport({});
  for (const [, url] of ATTACKS) {
    await assert.rejects(guardedFetch(url, {}, {}, transport), EgressError);
  }
  assert.equal(requests.length, 0);
});

Deno.test("SSRF: a redirect to loopback or metadata is not followed (each hop is re-checked)", async () => {
  for (const target of ["http://127.0.0.1/", "https://127.1/", "https://[::1]/", "https://169.254.169.254/"]) {
    const { requests, transport } = scriptedTransport({ "https://public.example/": redirect(target) });
    const error = await guardedFetch("https://public.example/", {}, {}, transport).catch((e) => e);
    assert.ok(error instanceof EgressError, String(error));
    assert.equal(error.code, "url_not_allowed");
    assert.deepEqual(requests.map((r) => [r.url, r.redirect]), [["https://public.example/", "manual"]]);
  }
});

Deno.test("guardedFetch follows checked redirects like fetch, up to maxRedirects", async () => {
  const { requests, transport } = scriptedTransport({
    "https://a.example/start": redirect("/second", 307),
    "https://a.example/second": redirect("https://b.example/third", 308),
    "https://b.example/third": redirect("https://c.example/end", 303),
    "https://c.example/end": (request) => new Response(`${request.method} ${request.headers.get("authorization")}`),
  });
  const init = { method: "POST", body: "payload", headers: { Authorization: "Bearer t", "Content-Type": "text/x" } };
  const response = await guardedFetch("https://a.example/start", init, {}, transport);
  assert.equal(await response.text(), "GET null", "303 continues as GET; the token stays with its origin");
  assert.deepEqual(requests.map((r) => [r.method, r.url]), [
    ["POST", "https://a.example/start"],
    ["POST", "https://a.example/second"],
    ["POST", "https://b.example/third"],
    ["GET", "https://c.example/end"],
  ]);
  assert.equal(await requests[1].text(), "payload", "307 resends the body");
  assert.equal(requests[1].headers.get("authorization"), "Bearer t", "same origin keeps the token");
  assert.equal(requests[2].headers.get("authorization"), null, "a cross-origin hop drops the token");

  await assert.rejects(guardedFetch("https://a.example/start", init, { maxRedirects: 2 }, transport), /more than 2/);
  await assert.rejects(guardedFetch("https://a.example/start", {}, { maxRedirects: 0 }, transport), EgressError);
  const manual = await guardedFetch("https://a.example/start", { redirect: "manual" }, {}, transport);
  assert.equal(manual.status, 307);
  await assert.rejects(guardedFetch("https://a.example/start", { redirect: "error" }, {}, transport), TypeError);
});

Deno.test("SSRF: a public name that resolves to a private address is refused when resolveHost is given", async () => {
  const dns: Record<string, string[]> = {
    "127.0.0.1.nip.io": ["127.0.0.1"],
    "mixed.example": ["93.184.216.34", "10.0.0.1"],
    "v6.example": ["::ffff:169.254.169.254"],
    "public.example": ["93.184.216.34", "2606:2800:220:1::1"],
  };
  const policy: EgressPolicy = {
    resolveHost: (name) => dns[name] ? Promise.resolve(dns[name]) : Promise.reject(new Error("NXDOMAIN")),
  };
  const { requests, transport } = scriptedTransport({ "https://public.example/": () => new Response("ok") });
  for (
    const url of ["https://127.0.0.1.nip.io/", "https://mixed.example/", "https://v6.example/", "https://nx.example/"]
  ) {
    await assert.rejects(guardedFetch(url, {}, policy, transport), EgressError, url);
  }
  assert.equal(requests.length, 0);
  assert.equal(await (await guardedFetch("https://public.example/", {}, policy, transport)).text(), "ok");
  const local = { ...policy, allowPrivateNetwork: true };
  assert.equal(await (await guardedFetch("https://public.example/", {}, local, transport)).text(), "ok");
  const dev = await guardedFetch("https://127.0.0.1.nip.io/", {}, local, transport);
  assert.equal(dev.status, 404, "in local development a name resolving to loopback is fetched");
  await dev.body?.cancel();
});

Deno.test("SSRF: each redirect hop is resolved and checked again (a real server redirecting to a rebinding name)", async () => {
  const hops: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    hops.push(new URL(request.url).pathname);
    const to = new URL(request.url).searchParams.get("to") ?? "";
    return new Response(null, { status: 302, headers: { location: to } });
  });
  const origin = `http://127.0.0.1:${server.addr.port}`;
  const resolved: string[] = [];
  const policy: EgressPolicy = {
    allowHosts: [origin], // the first hop only; every other host is judged by its DNS answer
    resolveHost: (name) => {
      resolved.push(name);
      return Promise.resolve(name === "rebind.example" ? ["10.0.0.1"] : ["93.184.216.34"]);
    },
  };
  try {
    for (const target of ["https://rebind.example/x", "https://REBIND.example./x", "https://[::ffff:a00:1]/"]) {
      const error = await guardedFetch(`${origin}/start?to=${encodeURIComponent(target)}`, {}, policy)
        .catch((e) => e);
      assert.ok(error instanceof EgressError, `${target}: ${error}`);
      assert.match(error.reason, /10\.0\.0\.1|IPv4-mapped/);
    }
    assert.deepEqual(hops, ["/start", "/start", "/start"], "the redirect target was never fetched");
    assert.deepEqual(resolved, ["rebind.example", "rebind.example"], "the allowlisted origin is not resolved");
  } finally {
    await server.shutdown();
  }
});
