import assert from "node:assert/strict";
import { ERROR_STATUS } from "../../lib/http/http_errors.ts";
import { Webhook } from "standardwebhooks";
import { ConfigurationError } from "../../lib/mod.ts";
import { signStandardWebhook, verifyWebhook, WebhookVerificationError } from "../../lib/server.ts";
import { nowSeconds, standardHeaders, whsecSecret } from "../support/webhook_senders.ts";

const SECRET = whsecSecret("unit-secret");
const body = JSON.stringify({ task: "héllo ✓" });
const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("Standard Webhooks: smolstep and the reference library verify each other's signatures", async (t) => {
  await t.step("smolstep signs, the reference library verifies (whsec_ and raw secrets)", async () => {
    const signed = await signStandardWebhook(SECRET, { id: "msg_1", timestamp: nowSeconds(), body });
    assert.deepEqual(new Webhook(SECRET).verify(body, signed), JSON.parse(body));
    const raw = "plain-text-secret";
    const rawSigned = await signStandardWebhook(raw, { id: "msg_2", timestamp: nowSeconds(), body });
    assert.deepEqual(new Webhook(raw, { format: "raw" }).verify(body, rawSigned), JSON.parse(body));
    assert.throws(() => new Webhook(whsecSecret("other")).verify(body, signed));
  });

  await t.step("the reference library signs, smolstep verifies; the replay key is the signed id", async () => {
    const headers = new Headers(standardHeaders(SECRET, body, { id: "msg_42" }));
    const delivery = await verifyWebhook(headers, bytes(body), SECRET);
    assert.deepEqual(delivery, { scheme: "standard", replayKey: "standard:msg_42", deliveryId: "msg_42" });
  });

  await t.step("the tolerance bounds the signed timestamp both ways", async () => {
    const timestamp = nowSeconds();
    const headers = new Headers(standardHeaders(SECRET, body, { timestamp }));
    await verifyWebhook(headers, bytes(body), SECRET, { now: timestamp + 60, toleranceSeconds: 60 });
    for (const now of [timestamp + 61, timestamp - 61]) {
      await assert.rejects(
        verifyWebhook(headers, bytes(body), SECRET, { now, toleranceSeconds: 60 }),
        (error) =>
          error instanceof WebhookVerificationError && ERROR_STATUS[error.code] === 401 &&
          error.code === "stale_timestamp",
      );
    }
  });

  await t.step("a signature over other bytes, or a malformed secret, is refused", async () => {
    const headers = new Headers(standardHeaders(SECRET, body));
    await assert.rejects(
      verifyWebhook(headers, bytes(body + " "), SECRET),
      (error) => error instanceof WebhookVerificationError && error.code === "invalid_signature",
    );
    await assert.rejects(verifyWebhook(headers, bytes(body), "whsec_not*base64"), ConfigurationError);
  });
});
