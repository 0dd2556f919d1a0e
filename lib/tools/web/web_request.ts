import { type EgressPolicy, guardedFetch } from "../../net/egress.ts";
import { readBodyCapped } from "../../net/read_body.ts";
import { SmolstepError } from "../../errors.ts";

/** What every web tool accepts: the egress policy its requests go through, and a transport for tests. */
export interface WebToolOptions {
  /**
   * The egress rules every request of the tool goes through (`guardedFetch`): https only and public hosts by
   * default. `{allowPrivateNetwork: true}` lets it reach loopback servers (tests, local development).
   */
  egress?: EgressPolicy;
  /** Performs each request (default: the global `fetch`). */
  fetch?: typeof fetch;
}

/** Largest response body a web tool reads (5 MB). */
export const MAX_WEB_BODY_BYTES = 5_000_000;

/**
 * A request that answered with an error status; `message` names the status and URL, as `requests`'
 * `raise_for_status` does. Retryable for 408, 429 and 5xx.
 */
export class WebRequestError extends SmolstepError {
  override name = "WebRequestError";
  constructor(readonly status: number, statusText: string, url: string) {
    super(`${status} ${statusText || "Error"} for url: ${url}`, {
      code: "web_request_failed",
      retryable: status === 408 || status === 429 || status >= 500,
    });
  }
}

/** Fetches through the egress guard and reads the body (capped) as text; an error status throws `WebRequestError`. */
export async function fetchText(
  url: string | URL,
  init: RequestInit,
  options: WebToolOptions,
  maxBytes = MAX_WEB_BODY_BYTES,
): Promise<string> {
  const response = await guardedFetch(url, init, options.egress ?? {}, options.fetch);
  if (!response.ok) {
    await response.body?.cancel();
    throw new WebRequestError(response.status, response.statusText, String(url));
  }
  return decodeText(await readBodyCapped(response, maxBytes), response.headers.get("content-type"));
}

/** Decodes a body in the charset its Content-Type names (UTF-8 when none, or one the runtime does not know). */
function decodeText(bytes: Uint8Array, contentType: string | null): string {
  const charset = /;\s*charset="?([^";\s]+)/i.exec(contentType ?? "")?.[1];
  try {
    return new TextDecoder(charset ?? "utf-8").decode(bytes);
  } catch {
    return new TextDecoder().decode(bytes);
  }
}

/** `fetchText`, parsed as JSON. */
export async function fetchJson(url: string | URL, init: RequestInit, options: WebToolOptions): Promise<unknown> {
  return JSON.parse(await fetchText(url, init, options));
}
