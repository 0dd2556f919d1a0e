/**
 * `Tool.fromSpace` / `Tool.fromGradio`: a tool calling a Gradio app. A Space id is resolved to its app's URL by the
 * Hub API (`GET {hubUrl}/api/spaces/{id}/host`, as `@gradio/client` does), unless `endpoint` gives the URL; then the
 * app's API info gives the tool's inputs. Every request goes through the egress guard (`egress` option).
 */

import type { EgressPolicy } from "../net/egress.ts";
import { guardedFetch } from "../net/egress.ts";
import { fetchApiInfo, GradioError } from "./gradio_client.ts";
import { readHubText } from "./hub_http.ts";
import {
  checkDeclaredInputs,
  type GradioEndpoint,
  GradioTool,
  type GradioToolOptions,
  pickEndpoint,
  specFromEndpoint,
  toolNameFrom,
} from "./gradio_tool.ts";
import type { ToolInputs, ToolInputType } from "../tools/tool_inputs.ts";

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
  const { host } = JSON.parse(await readHubText(response)) as { host?: unknown };
  if (typeof host !== "string" || !host) throw new GradioError(`the Hub gave no host for Space ${spaceId}`);
  return host;
}

/** A tool calling the Gradio app at `url` (smolagents' `Tool.from_gradio` takes an app; this one its URL). */
export async function toolFromGradio(url: string, options: GradioOptions = {}): Promise<GradioTool> {
  const resolved = await connect(url, options);
  return new GradioTool(specFromEndpoint(resolved, {
    name: options.name ?? toolNameFrom(url),
    description: options.description,
    defaultDescription: `Calls the Gradio app at ${url}.`,
  }));
}

/** A tool calling a Space's Gradio app (smolagents' `Tool.from_space`). */
export async function toolFromSpace(spaceId: string, options: SpaceOptions = {}): Promise<GradioTool> {
  const resolved = await connect(options.endpoint ?? await resolveSpaceUrl(spaceId, options), options);
  return new GradioTool(specFromEndpoint(resolved, {
    name: options.name ?? toolNameFrom(spaceId),
    description: options.description,
    defaultDescription: `Calls the Hugging Face Space ${spaceId}.`,
  }));
}

/**
 * What a tool declared up front says about itself: the model sees these before anything is fetched. The inputs
 * are named as the endpoint's parameters (checked at the first call).
 */
export interface DeclaredToolOptions {
  name: string;
  description: string;
  inputs: ToolInputs;
  /** Default "any": images and audio files still come back as agent types, by their media type. */
  outputType?: ToolInputType;
}

/**
 * A Gradio tool made without any request: it resolves the app and reads its API info at its first call (once per
 * tool). For agents built where no I/O may happen, e.g. the global scope of a Worker.
 */
export function declareGradioTool(
  url: string,
  options: DeclaredToolOptions & Omit<GradioOptions, "signal">,
): GradioTool {
  return declared(options, (signal) => connect(url, { ...options, signal }));
}

/** A Space tool made without any request (see `declareGradioTool`). */
export function declareSpaceTool(
  spaceId: string,
  options: DeclaredToolOptions & Omit<SpaceOptions, "signal">,
): GradioTool {
  if (!SPACE_ID.test(spaceId)) throw new TypeError(`'${spaceId}' is not a Space id (owner/name)`);
  return declared(options, async (signal) => {
    const url = options.endpoint ?? await resolveSpaceUrl(spaceId, { ...options, signal });
    return await connect(url, { ...options, signal });
  });
}

function declared(
  options: DeclaredToolOptions & GradioToolOptions,
  open: (signal?: AbortSignal) => Promise<GradioEndpoint>,
): GradioTool {
  return new GradioTool({
    name: options.name,
    description: options.description,
    inputs: options.inputs,
    outputType: options.outputType ?? "any",
    apiName: options.apiName,
    connect: async (signal) => {
      const resolved = await open(signal);
      checkDeclaredInputs(options.inputs, resolved);
      return resolved;
    },
  });
}

/** Reads the app's API info and picks the endpoint. */
async function connect(url: string, options: GradioOptions): Promise<GradioEndpoint> {
  const root = url.replace(/\/+$/, "");
  const base = { root, token: options.token, egress: options.egress, maxFileBytes: options.maxFileBytes };
  const { info, prefix } = await fetchApiInfo(base, options.signal);
  const [apiName, endpoint] = pickEndpoint(info, options.apiName);
  return { connection: { ...base, prefix }, apiName, endpoint };
}
