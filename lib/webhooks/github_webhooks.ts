/**
 * GitHub's scheme: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`, the secret used as UTF-8.
 *
 * GitHub signs neither an id nor a time: `X-GitHub-Delivery` is unsigned, so anyone holding one captured delivery
 * could resend it under a new id. The replay key is therefore the signature itself (one per distinct body): the
 * same body and signature is the same delivery whatever its headers say. GitHub's own "Redeliver" resends the same
 * body and signature, and is answered as a duplicate. Without a signed time, a replay is detected only while the
 * key is remembered (the replay window).
 */
import { fromHex, toHex } from "../crypto/hmac.ts";
import {
  matchingSignature,
  type VerifiedDelivery,
  type WebhookScheme,
  type WebhookVerifyInput,
} from "./webhook_scheme.ts";

export const githubWebhooks: WebhookScheme = {
  name: "github",
  signatureHeader: "x-hub-signature-256",
  async verify(input: WebhookVerifyInput): Promise<VerifiedDelivery> {
    const match = input.headers.get("x-hub-signature-256")?.trim().match(/^sha256=([0-9a-fA-F]{64})$/);
    const mac = await matchingSignature(input.secret, [match ? fromHex(match[1]) : null], input.body);
    const deliveryId = input.headers.get("x-github-delivery")?.slice(0, 200) || undefined;
    return { scheme: "github", replayKey: `github:${toHex(mac)}`, deliveryId };
  },
};
