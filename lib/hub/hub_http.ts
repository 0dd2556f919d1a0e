/**
 * The Hub's HTTP side as smolstep uses it: the base URL, the token, the egress policy, and downloads through the
 * "resolve" URL. Tools and agents live in Space repositories, as in smolagents
 * (`{hubUrl}/spaces/{repoId}/resolve/{revision}/{path}`). Every request goes through `guardedFetch`: https and
 * public hosts only unless `egress` opts in (e.g. `{ allowPrivateNetwork: true }` for a loopback test Hub).
 */

import { type EgressPolicy, guardedFetch } from "../net/egress.ts";
import { readBodyCapped } from "../net/read_body.ts";
import { SmolstepError } from "../errors.ts";

export const DEFAULT_HUB_URL = "https://huggingface.co";

/** Largest Hub answer read (a file, a Space's host, a collection): 16 MiB; past it, `BodyTooLargeError`. */
export const MAX_HUB_ANSWER_BYTES = 16 * 1024 * 1024;

/** A Hub answer's text, read to `MAX_HUB_ANSWER_BYTES` at most. */
export async function readHubText(response: Response): Promise<string> {
  return new TextDecoder().decode(await readBodyCapped(response, MAX_HUB_ANSWER_BYTES));
}

/** Where the Hub is and how to reach it. */
export interface HubOptions {
  /** A Hugging Face access token (read for downloads of private repos, write for pushes). */
  token?: string;
  /** The Hub's base URL (default https://huggingface.co). */
  hubUrl?: string;
  /** Egress rules for every Hub request (default: https, public hosts only). */
  egress?: EgressPolicy;
}

/** A Hub request failed (`status` is the Hub's HTTP status, 0 when there was no answer). */
export class HubError extends SmolstepError {
  override name = "HubError";
  constructor(message: string, readonly status: number) {
    super(message, { code: "hub_error", retryable: status === 429 || status >= 500 });
  }
}

/** A `fetch` for `@huggingface/hub`'s `fetch` option: each request goes through the egress guard. */
export function hubFetch(options: HubOptions): typeof fetch {
  return (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    return guardedFetch(url, init, options.egress);
  };
}

/** Checks `owner/name`. */
export function checkRepoId(repoId: string): string {
  if (!/^[\w.-]+\/[\w.-]+$/.test(repoId) || repoId.includes("..")) {
    throw new HubError(`'${repoId}' is not a Hub repository id (owner/name).`, 0);
  }
  return repoId;
}

/** The text of one file of a Space repository at a revision (default "main"). */
export async function downloadSpaceFile(
  repoId: string,
  path: string,
  options: HubOptions & { revision?: string },
): Promise<string> {
  const base = (options.hubUrl ?? DEFAULT_HUB_URL).replace(/\/+$/, "");
  const revision = encodeURIComponent(options.revision ?? "main");
  const url = `${base}/spaces/${checkRepoId(repoId)}/resolve/${revision}/${path}`;
  const headers: HeadersInit = options.token ? { Authorization: `Bearer ${options.token}` } : {};
  const response = await guardedFetch(url, { headers }, options.egress);
  if (!response.ok) {
    await response.body?.cancel();
    const what = response.status === 404 ? "not found" : `HTTP ${response.status}`;
    throw new HubError(`Could not download ${path} from the Space '${repoId}' (${what}).`, response.status);
  }
  return await readHubText(response);
}
