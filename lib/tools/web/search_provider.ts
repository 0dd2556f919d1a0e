import { fetchJson, type WebToolOptions } from "./web_request.ts";

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

/**
 * A JSON search API that needs a key (Brave, Serper, Tavily): the base owns the request and its key; a provider
 * only says how to ask (`request`) and where the results are in the answer (`results`).
 */
export abstract class KeyedSearchProvider implements SearchProvider {
  readonly baseUrl: string;
  protected readonly apiKey: string;

  /** Refuses a missing key at once, naming the provider. */
  constructor(readonly name: string, options: KeyedProviderOptions, defaultBaseUrl: string) {
    this.apiKey = requireKey(name, options.apiKey);
    this.baseUrl = options.baseUrl ?? defaultBaseUrl;
  }

  /** The request for one query: URL and init (method, headers with the key, body). */
  protected abstract request(query: string, maxResults: number): { url: URL; init: RequestInit };
  /** The results of a parsed answer. */
  protected abstract results(answer: unknown): SearchResult[];

  async search({ query, maxResults, signal, web }: SearchRequest): Promise<SearchResult[]> {
    const { url, init } = this.request(query, maxResults);
    return this.results(await fetchJson(url, { ...init, signal }, web));
  }
}
