/**
 * Standard Webhooks (standardwebhooks.com), the primary scheme for incoming webhooks and the one result callbacks
 * are signed with:
 *
 *     webhook-id: <unique id>          webhook-timestamp: <unix seconds>
 *     webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")> [v1,<...> ...]
 *
 * The key is the base64-decoded part of a `whsec_<base64>` secret, or the UTF-8 bytes of any other secret (the
 * reference library's `{format: "raw"}`). The id is signed, so it is the replay key: a captured delivery replayed
 * under a new id fails the signature, and one replayed under its own id is a duplicate.
 */
import { ConfigurationError } from "../errors.ts";
import { decodeBase64, encodeBase64 } from "../base64.ts";
import { concatBytes } from "../bytes.ts";
import { hmacSha256 } from "../crypto/hmac.ts";
import {
  checkFreshness,
  matchingSignature,
  parseTimestamp,
  type VerifiedDelivery,
  type WebhookScheme,
  WebhookVerificationError,
  type WebhookVerifyInput,
} from "./webhook_scheme.ts";

const SECRET_PREFIX = "whsec_";
const MAX_ID_LENGTH = 256;

/** The HMAC key of a Standard Webhooks secret: `whsec_<base64>` decoded, any other secret as UTF-8. */
export function standardWebhookKey(secret: string): Uint8Array<ArrayBuffer> | string {
  if (!secret.startsWith(SECRET_PREFIX)) return secret;
  const key = decodeBase64(secret.slice(SECRET_PREFIX.length));
  if (!key?.length) throw new ConfigurationError("A 'whsec_' webhook secret must be base64 after the prefix.");
  return key;
}

/** The content a Standard Webhooks signature covers. */
function signedContent(id: string, timestamp: number, body: string | Uint8Array): Uint8Array<ArrayBuffer> {
  return concatBytes(`${id}.${timestamp}.`, body);
}

/** The three headers of a delivery signed with `secret` (for result callbacks, and senders in tests). */
export async function signStandardWebhook(
  secret: string,
  delivery: { id: string; timestamp: number; body: string | Uint8Array },
): Promise<Record<"webhook-id" | "webhook-timestamp" | "webhook-signature", string>> {
  const mac = await hmacSha256(
    standardWebhookKey(secret),
    signedContent(delivery.id, delivery.timestamp, delivery.body),
  );
  return {
    "webhook-id": delivery.id,
    "webhook-timestamp": String(delivery.timestamp),
    "webhook-signature": `v1,${encodeBase64(mac)}`,
  };
}

export const standardWebhooks: WebhookScheme = {
  name: "standard",
  signatureHeader: "webhook-signature",
  async verify(input: WebhookVerifyInput): Promise<VerifiedDelivery> {
    const { headers } = input;
    const id = headers.get("webhook-id") ?? "";
    if (id.length > MAX_ID_LENGTH || !/^[!-~]+$/.test(id)) {
      throw new WebhookVerificationError(
        "missing_delivery_id",
        `webhook-id (a unique id of printable ASCII, at most ${MAX_ID_LENGTH} characters) is required.`,
      );
    }
    const timestamp = parseTimestamp(headers.get("webhook-timestamp"), "webhook-timestamp");
    // Several space-separated entries while the sender rotates secrets; entries of other versions are skipped.
    const macs = (headers.get("webhook-signature") ?? "").split(" ")
      .filter((entry) => entry.startsWith("v1,"))
      .map((entry) => decodeBase64(entry.slice(3)));
    await matchingSignature(standardWebhookKey(input.secret), macs, signedContent(id, timestamp, input.body));
    checkFreshness(timestamp, input);
    return { scheme: "standard", replayKey: `standard:${id}`, deliveryId: id };
  },
};
