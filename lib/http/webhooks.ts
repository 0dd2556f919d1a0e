import * as z from "zod";
import { InvalidInputError } from "../errors.ts";
import type { WebhookSchemeName } from "../webhooks/webhook_scheme.ts";
import { HttpError } from "./http_errors.ts";

/** What a webhook's task function returns: the task text, or the task with its `additionalArgs`. */
export type WebhookTask = string | { task: string; additionalArgs?: Record<string, unknown> };

/** How a webhook for one agent becomes a task. */
export interface WebhookConfig {
  /**
   * The task: a template whose `{{dotted.path}}` placeholders are filled from the JSON payload (objects as JSON,
   * `{{payload}}` for the whole payload), or a function of the payload returning the task text or
   * `{task, additionalArgs}`. A function refuses a payload by throwing (an `InvalidInputError`'s message is shown to
   * the sender); either way the delivery is a 400 and nothing is written.
   */
  task: string | ((payload: unknown, headers: Headers) => WebhookTask | Promise<WebhookTask>);
  /**
   * Overrides the app's `webhookSecret` for this agent. Standard Webhooks: `whsec_<base64>` (decoded) or any other
   * text (used as UTF-8); GitHub and Stripe: the secret exactly as they show it (used as UTF-8).
   */
  secret?: string;
  /**
   * The signature schemes accepted (default all, picked by header): `standard` (Standard Webhooks), `github`
   * (`X-Hub-Signature-256`), `stripe` (`Stripe-Signature`). Restrict to the one sender you use.
   */
  schemes?: WebhookSchemeName[];
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

const TaskShape = z.strictObject({
  task: z.string(),
  additionalArgs: z.record(z.string(), z.unknown()).optional(),
});

/**
 * The task a verified payload asks for, checked before anything is written: a task function that throws, or returns
 * fields of the wrong type, is a 400 `invalid_payload`; an empty task is a 422.
 */
export async function taskFromPayload(
  config: WebhookConfig,
  payload: unknown,
  headers: Headers,
): Promise<{ task: string; additionalArgs?: Record<string, unknown> }> {
  let made: WebhookTask;
  try {
    made = typeof config.task === "string"
      ? renderTaskTemplate(config.task, payload)
      : await config.task(payload, headers);
  } catch (error) {
    if (error instanceof HttpError) throw error;
    // Only an InvalidInputError's message is meant for the sender; others may carry internals.
    const reason = error instanceof InvalidInputError ? `: ${error.message}` : ".";
    throw new HttpError(400, "invalid_payload", `The webhook payload was refused${reason}`);
  }
  const parsed = TaskShape.safeParse(typeof made === "string" ? { task: made } : made);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `'${issue.path.join(".")}': ${issue.message}`);
    throw new HttpError(400, "invalid_payload", `The webhook payload gave an invalid task: ${problems.join("; ")}`);
  }
  if (!parsed.data.task.trim()) throw new HttpError(422, "empty_task", "The webhook payload produced an empty task.");
  try {
    JSON.stringify(parsed.data.additionalArgs);
  } catch {
    throw new HttpError(400, "invalid_payload", "additionalArgs must be plain JSON.");
  }
  return parsed.data;
}
