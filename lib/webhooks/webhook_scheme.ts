import { SmolstepError } from "../errors.ts";
import { type HmacSecret, verifyHmacSha256 } from "../crypto/hmac.ts";

/**
 * The seam between the webhook route and the signature schemes it accepts (Standard Webhooks, GitHub, Stripe).
 * A scheme checks a delivery's signature and names what the sender signed that identifies it: the replay key.
 * Replays are detected on that key only, never on an unsigned header.
 */

export type WebhookSchemeName = "standard" | "github" | "stripe";

/** A delivery whose signature checked out. */
export interface VerifiedDelivery {
  scheme: WebhookSchemeName;
  /** Identifies the delivery from signed content only; a replay (even with new unsigned headers) has the same key. */
  replayKey: string;
  /** The sender's delivery id when it sends one (informational for GitHub, whose id is not signed). */
  deliveryId?: string;
}

export interface WebhookVerifyInput {
  headers: Headers;
  /** The raw body, exactly as received: signatures cover bytes, not parsed JSON. */
  body: Uint8Array<ArrayBuffer>;
  secret: string;
  /** Accepted distance between a signed timestamp and now, in seconds. */
  toleranceSeconds: number;
  /** Unix seconds (injected by tests). */
  now: number;
}

export interface WebhookScheme {
  readonly name: WebhookSchemeName;
  /** The header whose presence selects this scheme. */
  readonly signatureHeader: string;
  /** Throws `WebhookVerificationError` unless the delivery is signed with `secret` and fresh. */
  verify(input: WebhookVerifyInput): Promise<VerifiedDelivery>;
}

/**
 * A delivery refused before anything was written; `code` says why (`missing_signature`, `stale_timestamp`...). The
 * server answers 400 for malformed headers, 401 for a bad or stale signature (lib/http/http_errors.ts).
 */
export class WebhookVerificationError extends SmolstepError {
  override name = "WebhookVerificationError";
  constructor(code: string, message: string) {
    super(message, { code });
  }
}

/** Most signature entries looked at per delivery (each costs one HMAC over the body). */
export const MAX_SIGNATURE_ENTRIES = 10;

/**
 * Returns the first of `macs` (at most `MAX_SIGNATURE_ENTRIES`) that is HMAC-SHA256(key, content), checking each in
 * constant time; throws 401 `invalid_signature` when none is.
 */
export async function matchingSignature(
  key: HmacSecret,
  macs: Array<Uint8Array<ArrayBuffer> | null>,
  content: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer>> {
  for (const mac of macs.slice(0, MAX_SIGNATURE_ENTRIES)) {
    if (mac?.length === 32 && await verifyHmacSha256(key, mac, content)) return mac;
  }
  throw new WebhookVerificationError("invalid_signature", "The webhook signature does not match the body.");
}

/** Reads a unix-seconds timestamp header value (400 when absent or not a number). */
export function parseTimestamp(text: string | null | undefined, header: string): number {
  if (!text || !/^\d{1,12}$/.test(text)) {
    throw new WebhookVerificationError("missing_timestamp", `${header} (unix seconds) is required.`);
  }
  return Number(text);
}

/** Refuses a signed timestamp too far from now, in the past or the future (after the signature checked out). */
export function checkFreshness(timestamp: number, input: WebhookVerifyInput): void {
  if (Math.abs(input.now - timestamp) > input.toleranceSeconds) {
    throw new WebhookVerificationError(
      "stale_timestamp",
      `The signed timestamp is more than ${input.toleranceSeconds} s away from now.`,
    );
  }
}
