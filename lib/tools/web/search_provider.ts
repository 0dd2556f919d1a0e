import type { WebToolOptions } from "./web_request.ts";

/** One search result, as every provider's answer is reduced to. */
export interface SearchResult {
  title: string;
  link: string;
  description: string;
}

/** What a provider is given for one search. */
export interface SearchRequest {
  query: string;
  maxResults: number;
  signal?: AbortSignal;
  /** The egress policy and transport of the tool. */
  web: WebToolOptions;
}

/** A search backend (DuckDuckGo's HTML page, Brave, Serper, Tavily, or your own). */
export interface SearchProvider {
  readonly name: string;
  search(request: SearchRequest): Promise<SearchResult[]>;
}

/** Options of a provider that needs a key. */
export interface KeyedProviderOptions {
  apiKey: string;
  /** The API's base URL (default: the provider's public endpoint); tests point it at a loopback server. */
  baseUrl?: string;
}

/** Joins a base URL and a path without doubling or losing the slash. */
export function endpoint(baseUrl: string, path: string): URL {
  return new URL(path.replace(/^\//, ""), baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
}

export function requireKey(provider: string, apiKey: string | undefined): string {
  if (!apiKey) throw new TypeError(`The ${provider} search provider needs an apiKey.`);
  return apiKey;
}
