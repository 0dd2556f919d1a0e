/**
 * `Tool.fromSpace` / `Tool.fromGradio`: a tool calling a Gradio app. A Space id is resolved to its app's URL by the
 * Hub API (`GET {hubUrl}/api/spaces/{id}/host`, as `@gradio/client` does), unless `endpoint` gives the URL; then the
 * app's API info gives the tool's inputs. Every request goes through the egress guard (`egress` option).
 */

import type { EgressPolicy } from "../net/egress.ts";
import { guardedFetch } from "../net/egress.ts";
import { fetchApiInfo, GradioError } from "./gradio_client.ts";
import { GradioTool, type GradioToolOptions, toolNameFrom } from "./gradio_tool.ts";

export const DEFAULT_HUB_URL = "https://huggingface.co";

export interface GradioOptions extends GradioToolOptions {
  /** A Hugging Face token: sent to the Hub and to the app's own origin (private Spaces). */
  token?: string;
  /** Which URLs may be fetched (default: public https hosts only; tests and local apps opt in here). */
  egress?: EgressPolicy;
  /** Largest output file read (default: the blob size limit). */
  maxFileBytes?: number;
  signal?: AbortSignal;
}

export interface SpaceOptions extends GradioOptions {
  /** The app's URL, skipping the Hub lookup (a custom domain, a mirror, a test server). */
  endpoint?: string;
  /** The Hub API's base URL (default https://huggingface.co). */
  hubUrl?: string;
}

const SPACE_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** The app URL of a Space (`https://owner-name.hf.space`) from the Hub's `/api/spaces/{id}/host`. */
export async function resolveSpaceUrl(
  spaceId: string,
  options: Pick<SpaceOptions, "hubUrl" | "token" | "egress" | "signal"> = {},
): Promise<string> {
  if (!SPACE_ID.test(spaceId)) throw new TypeError(`'${spaceId}' is not a Space id (owner/name)`);
  const hubUrl = (options.hubUrl ?? DEFAULT_HUB_URL).replace(/\/+$/, "");
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  const response = await guardedFetch(`${hubUrl}/api/spaces/${spaceId}/host`, {
    headers,
    signal: options.signal,
  }, options.egress);
  if (!response.ok) {
    await response.body?.cancel();
    throw new GradioError(`the Hub found no running Space ${spaceId} (${response.status})`, {
      retryable: response.status === 429 || response.status >= 500,
    });
  }
  const { host } = await response.json() as { host?: unknown };
  if (typeof host !== "string" || !host) throw new GradioError(`the Hub gave no host for Space ${spaceId}`);
  return host;
}

/** A tool calling the Gradio app at `url` (smolagents' `Tool.from_gradio` takes an app; this one its URL). */
export async function toolFromGradio(url: string, options: GradioOptions = {}): Promise<GradioTool> {
  return await buildTool(url, options, toolNameFrom(url), `Calls the Gradio app at ${url}.`);
}

/** A tool calling a Space's Gradio app (smolagents' `Tool.from_space`). */
export async function toolFromSpace(spaceId: string, options: SpaceOptions = {}): Promise<GradioTool> {
  const url = options.endpoint ?? await resolveSpaceUrl(spaceId, options);
  return await buildTool(url, options, toolNameFrom(spaceId), `Calls the Hugging Face Space ${spaceId}.`);
}

async function buildTool(
  url: string,
  options: GradioOptions,
  defaultName: string,
  defaultDescription: string,
): Promise<GradioTool> {
  const root = url.replace(/\/+$/, "");
  const base = { root, token: options.token, egress: options.egress, maxFileBytes: options.maxFileBytes };
  const { info, prefix } = await fetchApiInfo(base, options.signal);
  return new GradioTool({ ...base, prefix }, info, { ...options, defaultName, defaultDescription });
}
