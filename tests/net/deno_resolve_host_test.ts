import assert from "node:assert/strict";
import { denoResolveHost } from "../../lib/adapters/deno/deno_resolve_host.ts";
import { EgressError, guardedFetch } from "../../lib/mod.ts";

type Records = Record<string, { A?: string[]; AAAA?: string[] }>;

/** Runs `fn` with `Deno.resolveDns` answering from `records` (NotFound otherwise), restored afterwards. */
async function withDns(records: Records, fn: () => Promise<void>): Promise<void> {
  const original = Deno.resolveDns;
  const fake = (name: string, type: "A" | "AAAA") => {
    const found = records[name]?.[type];
    return found ? Promise.resolve(found) : Promise.reject(new Deno.errors.NotFound(`no ${type} for ${name}`));
  };
  Object.defineProperty(Deno, "resolveDns", { value: fake, configurable: true, writable: true });
  try {
    await fn();
  } finally {
    Object.defineProperty(Deno, "resolveDns", { value: original, configurable: true, writable: true });
  }
}

Deno.test("SSRF: with the Deno resolver, a public name pointing at loopback or metadata is refused", async () => {
  const records: Records = {
    "127.0.0.1.nip.io": { A: ["127.0.0.1"] },
    "v6-only.example": { AAAA: ["::1"] },
    "mixed.example": { A: ["93.184.216.34"], AAAA: ["fd00:ec2::254"] },
    "public.example": { A: ["93.184.216.34"], AAAA: ["2606:2800:220:1::1"] },
  };
  const sent: string[] = [];
  const transport = ((url: string) => {
    sent.push(url);
    return Promise.resolve(new Response("ok"));
  }) as typeof fetch;
  const policy = { resolveHost: denoResolveHost() };
  await withDns(records, async () => {
    assert.deepEqual(await policy.resolveHost("mixed.example"), ["93.184.216.34", "fd00:ec2::254"]);
    for (
      const [host, reason] of [
        ["127.0.0.1.nip.io", /resolves to 127\.0\.0\.1/],
        ["v6-only.example", /resolves to ::1/],
        ["mixed.example", /resolves to fd00:ec2::254/],
        ["missing.example", /could not be resolved/],
      ] as const
    ) {
      await assert.rejects(guardedFetch(`https://${host}/`, {}, policy, transport), (error) => {
        return error instanceof EgressError && reason.test(error.reason);
      });
    }
    assert.deepEqual(sent, []);
    assert.equal(await (await guardedFetch("https://public.example/", {}, policy, transport)).text(), "ok");
  });
});
