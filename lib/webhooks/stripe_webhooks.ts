/**
 * Stripe's scheme: `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>[,v1=...]`,
 * the secret (`whsec_...` as Stripe shows it) used as UTF-8, as Stripe's own libraries do.
 *
 * The replay key is the event id inside the signed body (`{"id": "evt_..."}`), so Stripe's retries of one event
 * (new `t`, new signature) start one run; a body without an id falls back to the signed `t` and signature.
 */
import { concatBytes } from "../bytes.ts";
import { fromHex, toHex } from "../crypto/hmac.ts";
import {
  checkFreshness,
  matchingSignature,
  parseTimestamp,
  type VerifiedDelivery,
  type WebhookScheme,
  WebhookVerificationError,
  type WebhookVerifyInput,
} from "./webhook_scheme.ts";

export const stripeWebhooks: WebhookScheme = {
  name: "stripe",
  signatureHeader: "stripe-signature",
  async verify(input: WebhookVerifyInput): Promise<VerifiedDelivery> {
    const entries = (input.headers.get("stripe-signature") ?? "").split(",").map((item) => {
      const at = item.indexOf("=");
      return [item.slice(0, at).trim(), item.slice(at + 1).trim()] as const;
    });
    const times = entries.filter(([name]) => name === "t");
    if (times.length > 1) {
      throw new WebhookVerificationError("invalid_signature_header", "Stripe-Signature carries more than one t.");
    }
    const timestamp = parseTimestamp(times[0]?.[1], "Stripe-Signature t");
    const macs = entries.filter(([name]) => name === "v1").map(([, value]) => fromHex(value));
    const mac = await matchingSignature(input.secret, macs, concatBytes(`${timestamp}.`, input.body));
    checkFreshness(timestamp, input);
    const eventId = signedEventId(input.body);
    return {
      scheme: "stripe",
      replayKey: eventId ? `stripe:event:${eventId}` : `stripe:signature:${timestamp}:${toHex(mac)}`,
      deliveryId: eventId,
    };
  },
};

function signedEventId(body: Uint8Array): string | undefined {
  try {
    const event = JSON.parse(new TextDecoder().decode(body));
    const id = event !== null && typeof event === "object" ? event.id : undefined;
    return typeof id === "string" && id.length > 0 && id.length <= 255 ? id : undefined;
  } catch {
    return undefined;
  }
}
