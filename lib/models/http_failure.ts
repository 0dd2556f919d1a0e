/**
 * A model server's failed HTTP response, as the retry logic reads it (`status`, `retryable` as `retryableHttpStatus` says, and
 * `headers` for Retry-After) and with the server's own message when its body has one. Backends throw it from an attempt; a final failure reaches
 * users as a `ModelError` whose `cause` it is.
 */

import { SmolstepError } from "../errors.ts";
import { clipText } from "../text_clip.ts";
import { retryableHttpStatus } from "./retry.ts";
import { readStart } from "../net/read_body.ts";

/** The longest server message quoted in an error. */
const MAX_DETAIL_CHARS = 1000;
/** How much of an error body is read: the rest is not waited for (a proxy's page, a body that never ends). */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export class HttpFailure extends SmolstepError {
  override name = "HttpFailure";
  readonly status: number;
  readonly headers: Headers;
  /** The server's message from the error body (`{error: {message}}`, `{error: "..."}`, `{message}`), if any. */
  readonly detail: string | undefined;

  constructor(response: Response, options: { body?: unknown; message?: string; cause?: unknown } = {}) {
    const detail = serverMessage(options.body);
    const { status } = response;
    super(options.message ?? `${status} ${detail ?? (response.statusText || "error")}`, {
      code: "model_http_error",
      retryable: retryableHttpStatus(status, response.headers),
      cause: options.cause,
    });
    this.status = response.status;
    this.headers = response.headers;
    this.detail = detail;
  }

  /** Reads a failed response's body (JSON or text, its first 64 KiB) into an `HttpFailure`. */
  static async read(response: Response): Promise<HttpFailure> {
    const text = await readStart(response, MAX_ERROR_BODY_BYTES).catch(() => "");
    let body: unknown = text || undefined;
    try {
      body = JSON.parse(text);
    } catch { /* a text body is quoted as it is */ }
    return new HttpFailure(response, { body: typeof body === "string" ? { message: body } : body });
  }
}

/** The message in an error body: OpenAI's `{error: {message}}`, a provider's `{error: "..."}`, or `{message}`. */
export function serverMessage(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const { error, message } = body as { error?: unknown; message?: unknown };
  const inner = typeof error === "string" ? error : (error as { message?: unknown } | null | undefined)?.message;
  const text = typeof inner === "string" && inner ? inner : typeof message === "string" ? message : undefined;
  return text ? clipText(text, MAX_DETAIL_CHARS) : undefined;
}
