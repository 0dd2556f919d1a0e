import { verifyPayload } from "../runs/hmac_signature.ts";
import { HttpError } from "./http_errors.ts";

/** How a webhook for one agent becomes a task. */
export interface WebhookConfig {
  /**
   * The task: a template whose `{{dotted.path}}` placeholders are filled from the JSON payload (objects as JSON,
   * `{{payload}}` for the whole payload), or a function of the payload returning the task text or
   * `{task, additionalArgs}`.
   */
  task:
    | string
    | ((payload: unknown, headers: Headers) =>
      | string
      | { task: string; additionalArgs?: Record<string, unknown> }
      | Promise<string | { task: string; additionalArgs?: Record<string, unknown> }>);
  /** Overrides the app's `webhookSecret` for this agent. */
  secret?: string;
  /** Where the final result is POSTed (signed) when the run ends. */
  callbackUrl?: string;
  maxSteps?: number;
}

function lookup(payload: unknown, path: string): unknown {
  if (path === "payload") return payload;
  let value: unknown = payload;
  for (const part of path.split(".")) {
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Fills `{{path}}` placeholders from the payload; missing values become empty strings. */
export function renderTaskTemplate(template: string, payload: unknown): string {
  return template.replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (_whole, path: string) => {
    const value = lookup(payload, path);
    if (value === undefined || value === null) return "";
    return typeof value === "string" ? value : JSON.stringify(value);
  });
}

/**
 * Verifies a webhook delivery and returns its delivery id (for replay protection).
 *
 * - smolstep scheme: `X-Smolstep-Timestamp: <unix seconds>`, `X-Smolstep-Delivery: <unique id>`,
 *   `X-Smolstep-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`; timestamps older or newer than
 *   `toleranceSeconds` are refused.
 * - GitHub scheme: `X-Hub-Signature-256: sha256=<hex HMAC of the raw body>` with `X-GitHub-Delivery`. GitHub
 *   sends no timestamp, so replays are caught by the delivery id alone.
 */
export async function verifyWebhook(
  headers: Headers,
  body: Uint8Array<ArrayBuffer>,
  secret: string,
  toleranceSeconds: number,
): Promise<string> {
  const github = headers.get("X-Hub-Signature-256");
  const ours = headers.get("X-Smolstep-Signature");
  if (!ours && github) {
    const delivery = headers.get("X-GitHub-Delivery");
    if (!await verifyPayload(secret, body, github)) throw badSignature();
    if (!delivery) throw new HttpError(400, "missing_delivery_id", "X-GitHub-Delivery is required.");
    return `github:${delivery}`;
  }
  if (!ours) throw new HttpError(401, "missing_signature", "Sign the body: X-Smolstep-Signature: sha256=<hex>.");
  const timestamp = headers.get("X-Smolstep-Timestamp") ?? "";
  const delivery = headers.get("X-Smolstep-Delivery");
  if (!/^\d{1,12}$/.test(timestamp)) {
    throw new HttpError(400, "missing_timestamp", "X-Smolstep-Timestamp (unix seconds) is required.");
  }
  const signed = new Uint8Array(timestamp.length + 1 + body.length);
  signed.set(new TextEncoder().encode(`${timestamp}.`));
  signed.set(body, timestamp.length + 1);
  if (!await verifyPayload(secret, signed, ours)) throw badSignature();
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) {
    throw new HttpError(401, "stale_timestamp", `The timestamp is more than ${toleranceSeconds} s away from now.`);
  }
  if (!delivery || delivery.length > 200) {
    throw new HttpError(400, "missing_delivery_id", "X-Smolstep-Delivery (a unique id, <= 200 chars) is required.");
  }
  return `smolstep:${delivery}`;
}

function badSignature(): HttpError {
  return new HttpError(401, "invalid_signature", "The webhook signature does not match the body.");
}
