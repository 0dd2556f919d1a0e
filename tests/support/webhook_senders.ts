/**
 * Webhook senders for tests, independent of smolstep's own signing code: Standard Webhooks through the reference
 * implementation (the `standardwebhooks` package), GitHub and Stripe through `node:crypto`'s HMAC.
 */
import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A `whsec_` secret, as Standard Webhooks senders (Svix and others) issue them. */
export function whsecSecret(seed: string): string {
  return `whsec_${btoa(seed.padEnd(32, "#"))}`;
}

/** Standard Webhooks headers signed by the reference library (`whsec_` secrets decoded, others raw). */
export function standardHeaders(
  secret: string,
  body: string,
  delivery: { id?: string; timestamp?: number } = {},
): Record<string, string> {
  const id = delivery.id ?? `msg_${crypto.randomUUID()}`;
  const timestamp = delivery.timestamp ?? nowSeconds();
  const webhook = secret.startsWith("whsec_") ? new Webhook(secret) : new Webhook(secret, { format: "raw" });
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": webhook.sign(id, new Date(timestamp * 1000), body),
  };
}

/** GitHub's `X-Hub-Signature-256` (HMAC of the body only). */
export function githubHeaders(secret: string, body: string, delivery: string = crypto.randomUUID()) {
  return {
    "X-Hub-Signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
    "X-GitHub-Delivery": delivery,
    "X-GitHub-Event": "issues",
  };
}

/** Stripe's `Stripe-Signature: t=...,v1=...` (HMAC of "<t>.<body>", the secret as UTF-8). */
export function stripeHeaders(secret: string, body: string, timestamp = nowSeconds()): Record<string, string> {
  const v1 = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  return { "Stripe-Signature": `t=${timestamp},v1=${v1}` };
}

/** POSTs a webhook and reads its JSON answer. */
export async function postHook(url: string, body: string, headers: Record<string, string>) {
  const response = await fetch(url, {
    method: "POST",
    body,
    headers: { "Content-Type": "application/json", ...headers },
  });
  // deno-lint-ignore no-explicit-any
  return { status: response.status, body: await response.json() as any };
}
