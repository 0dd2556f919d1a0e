import { githubWebhooks } from "./github_webhooks.ts";
import { standardWebhooks } from "./standard_webhooks.ts";
import { stripeWebhooks } from "./stripe_webhooks.ts";
import {
  type VerifiedDelivery,
  type WebhookScheme,
  type WebhookSchemeName,
  WebhookVerificationError,
} from "./webhook_scheme.ts";

/** Detection order when a delivery carries the headers of several schemes. */
const SCHEMES: Record<WebhookSchemeName, WebhookScheme> = {
  standard: standardWebhooks,
  stripe: stripeWebhooks,
  github: githubWebhooks,
};

export const WEBHOOK_SCHEME_NAMES = Object.keys(SCHEMES) as WebhookSchemeName[];

export interface VerifyWebhookOptions {
  /** The schemes accepted (default: all, detected by their signature header). */
  schemes?: readonly WebhookSchemeName[];
  /** Accepted distance between a signed timestamp and now (default 300 s). */
  toleranceSeconds?: number;
  /** Unix seconds; defaults to the clock. */
  now?: number;
}

/**
 * Verifies a webhook delivery and returns what identifies it for replay protection. The scheme is picked by its
 * signature header (`webhook-signature`, then `Stripe-Signature`, then `X-Hub-Signature-256`) among `schemes`.
 * Throws `WebhookVerificationError` (400 malformed, 401 unsigned, bad or stale signature).
 */
export async function verifyWebhook(
  headers: Headers,
  body: Uint8Array<ArrayBuffer>,
  secret: string,
  options: VerifyWebhookOptions = {},
): Promise<VerifiedDelivery> {
  const accepted = (options.schemes ?? WEBHOOK_SCHEME_NAMES).map((name) => SCHEMES[name]);
  const scheme = WEBHOOK_SCHEME_NAMES.map((name) => SCHEMES[name])
    .find((candidate) => accepted.includes(candidate) && headers.has(candidate.signatureHeader));
  if (!scheme) throw missingSignature(headers, accepted);
  return await scheme.verify({
    headers,
    body,
    secret,
    toleranceSeconds: options.toleranceSeconds ?? 300,
    now: options.now ?? Math.floor(Date.now() / 1000),
  });
}

function missingSignature(headers: Headers, accepted: WebhookScheme[]): WebhookVerificationError {
  const expected = accepted.map((scheme) => scheme.signatureHeader).join(", ");
  const hint = headers.has("x-smolstep-signature")
    ? " The X-Smolstep-* scheme was replaced by Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature)."
    : "";
  return new WebhookVerificationError("missing_signature", `Sign the delivery with one of: ${expected}.${hint}`);
}
