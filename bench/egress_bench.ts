/**
 * What the egress guard costs per URL: `checkUrl` on a public URL, on attack spellings, with an allowlist, and
 * `guardedFetch` over a loopback server (opt-in policy) against a plain `fetch` of the same URL.
 *
 *   deno bench -A bench/egress_bench.ts
 */
import { guardedFetch } from "../lib/mod.ts";
import { checkUrl } from "../lib/net/egress.ts";

const ALLOW = { allowHosts: ["hooks.internal.example", "*.svc.cluster.local", "http://10.0.0.7:8080"] };

Deno.bench("checkUrl: public https URL", { group: "check", baseline: true }, () => {
  checkUrl("https://hooks.example.com/smolstep/result?run=1");
});
Deno.bench("checkUrl: decimal loopback (refused)", { group: "check" }, () => {
  checkUrl("https://2130706433/");
});
Deno.bench("checkUrl: IPv4-mapped IPv6 (refused)", { group: "check" }, () => {
  checkUrl("https://[::ffff:169.254.169.254]/");
});
Deno.bench("checkUrl: three allowlist entries, no match", { group: "check" }, () => {
  checkUrl("https://hooks.example.com/smolstep/result", ALLOW);
});

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => new Response("ok"));
const url = `http://127.0.0.1:${server.addr.port}/`;
const local = { allowPrivateNetwork: true };

Deno.bench("fetch over loopback", { group: "fetch", baseline: true }, async () => {
  await (await fetch(url)).text();
});
Deno.bench("guardedFetch over loopback", { group: "fetch" }, async () => {
  await (await guardedFetch(url, {}, local)).text();
});
