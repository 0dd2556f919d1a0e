// Signature checks of incoming webhooks are made by WebCrypto's `crypto.subtle.verify` (constant time), for every
// scheme, for right and wrong signatures alike: a verifier that compared MACs itself (`===`, byte loops that stop
// early) would leak how much of a forged signature is right. The test watches `crypto.subtle.verify` and fails if a
// signature is decided without it.
import assert from "node:assert/strict";
import { verifyWebhook } from "../../lib/webhooks/verify_webhook.ts";
import { githubHeaders, standardHeaders, stripeHeaders, whsecSecret } from "../support/webhook_senders.ts";

const SECRET = whsecSecret("constant-time");
const body = JSON.stringify({ id: "evt_1", task: "hi" });

/**
 * Flips one hex or base64 character of the signature in a header value, near its end so the format stays valid. Not
 * the last base64 character before the `=` padding: only 2 of its 6 bits are data, so a flip there may change only
 * padding bits, which decoders ignore, and leave the signature valid.
 */
function forge(headers: Record<string, string>, name: string): Record<string, string> {
  const value = headers[name];
  const last = value.length - (value.endsWith("=") ? 3 : 1);
  const flipped = value[last] === "a" ? "b" : "a";
  return { ...headers, [name]: value.slice(0, last) + flipped + value.slice(last + 1) };
}

Deno.test("webhook signatures are decided by crypto.subtle.verify (constant time), right or wrong", async () => {
  const original = crypto.subtle.verify;
  const verified: boolean[] = [];
  crypto.subtle.verify = async function (...args: Parameters<SubtleCrypto["verify"]>) {
    const result = await original.apply(crypto.subtle, args);
    verified.push(result);
    return result;
  } as SubtleCrypto["verify"];
  try {
    const deliveries: Array<[string, Record<string, string>, string]> = [
      ["standard", standardHeaders(SECRET, body), "webhook-signature"],
      ["github", githubHeaders(SECRET, body), "X-Hub-Signature-256"],
      ["stripe", stripeHeaders(SECRET, body), "Stripe-Signature"],
    ];
    for (const [scheme, headers, signature] of deliveries) {
      const bytes = new TextEncoder().encode(body);
      verified.length = 0;
      const delivery = await verifyWebhook(new Headers(headers), bytes, SECRET);
      assert.equal(delivery.scheme, scheme);
      assert.deepEqual(verified, [true], `${scheme}: the right signature went through crypto.subtle.verify`);

      verified.length = 0;
      await assert.rejects(verifyWebhook(new Headers(forge(headers, signature)), bytes, SECRET), /does not match/);
      assert.deepEqual(verified, [false], `${scheme}: the forged signature went through crypto.subtle.verify`);
    }
  } finally {
    crypto.subtle.verify = original;
  }
});
