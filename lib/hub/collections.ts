/**
 * `ToolCollection.fromHub`: the Spaces of a Hub collection as tools (smolagents' `ToolCollection.from_hub`). The
 * collection is read with `GET {hubUrl}/api/collections/{slug}`; each Space item becomes a `Tool.fromSpace` tool,
 * or whatever `loadTool` makes of it (e.g. a Hub tool whose code runs in the sandbox). Refused without
 * `trustRemoteCode: true`, as in smolagents: the tools are code and apps chosen by the collection's owner.
 */

import { ConfigurationError } from "../errors.ts";
import { guardedFetch } from "../net/egress.ts";
import type { Tool } from "../tools/tool.ts";
import { GradioError } from "./gradio_client.ts";
import { readHubText } from "./hub_http.ts";
import { DEFAULT_HUB_URL, type SpaceOptions, toolFromSpace } from "./spaces.ts";

/** One item of a collection, as the Hub API lists it (the fields used here). */
export interface CollectionItem {
  id: string;
  type: string;
  title?: string;
  shortDescription?: string;
  note?: { text?: string };
}

export interface CollectionToolOptions
  extends Pick<SpaceOptions, "token" | "egress" | "hubUrl" | "signal" | "maxFileBytes"> {
  /** Must be true: the collection's Spaces run code you did not write. */
  trustRemoteCode?: boolean;
  /** Makes a tool of one Space item (default: `Tool.fromSpace` with the item's note or title as description). */
  loadTool?: (item: CollectionItem, options: CollectionToolOptions) => Promise<Tool>;
}

/** Reads a collection's Space items. */
export async function collectionSpaces(
  slug: string,
  options: Pick<CollectionToolOptions, "token" | "egress" | "hubUrl" | "signal"> = {},
): Promise<CollectionItem[]> {
  const hubUrl = (options.hubUrl ?? DEFAULT_HUB_URL).replace(/\/+$/, "");
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  const path = slug.split("/").map(encodeURIComponent).join("/");
  const response = await guardedFetch(
    `${hubUrl}/api/collections/${path}`,
    { headers, signal: options.signal },
    options.egress,
  );
  if (!response.ok) {
    await response.body?.cancel();
    throw new GradioError(`the Hub could not read collection ${slug} (${response.status})`, {
      retryable: response.status === 429 || response.status >= 500,
    });
  }
  const { items } = JSON.parse(await readHubText(response)) as { items?: unknown };
  if (!Array.isArray(items)) throw new GradioError(`collection ${slug} has no item list`);
  const spaces = items.filter((item): item is CollectionItem =>
    typeof item === "object" && item !== null && item.type === "space" && typeof item.id === "string"
  );
  const seen = new Set<string>();
  return spaces.filter((item) => !seen.has(item.id) && seen.add(item.id)); // once each, in the collection's order
}

/** The tools of a collection's Spaces, in the collection's order. */
export async function toolsFromCollection(slug: string, options: CollectionToolOptions = {}): Promise<Tool[]> {
  if (options.trustRemoteCode !== true) {
    throw new ConfigurationError(
      `Loading the tools of collection ${slug} runs code its owner chose; pass trustRemoteCode: true if you trust it.`,
    );
  }
  const items = await collectionSpaces(slug, options);
  const load = options.loadTool ?? ((item: CollectionItem, opts: CollectionToolOptions) =>
    toolFromSpace(item.id, {
      ...opts,
      description: item.note?.text || item.shortDescription || item.title || undefined,
    }));
  return await Promise.all(items.map((item) => load(item, options)));
}
