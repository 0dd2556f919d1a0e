import {
  endpoint,
  type KeyedProviderOptions,
  requireKey,
  type SearchProvider,
  type SearchRequest,
  type SearchResult,
} from "./search_provider.ts";
import { fetchJson } from "./web_request.ts";

export const BRAVE_SEARCH_URL = "https://api.search.brave.com";

interface BraveAnswer {
  web?: { results?: Array<{ title?: string; url?: string; description?: string }> };
}

/** Brave Search's Web Search API: `GET /res/v1/web/search?q=&count=` with `X-Subscription-Token`. */
export class BraveSearch implements SearchProvider {
  readonly name = "brave";
  readonly #apiKey: string;
  readonly baseUrl: string;

  constructor(options: KeyedProviderOptions) {
    this.#apiKey = requireKey(this.name, options.apiKey);
    this.baseUrl = options.baseUrl ?? BRAVE_SEARCH_URL;
  }

  async search({ query, maxResults, signal, web }: SearchRequest): Promise<SearchResult[]> {
    const url = endpoint(this.baseUrl, "res/v1/web/search");
    url.searchParams.set("q", query);
    url.searchParams.set("count", String(Math.min(maxResults, 20)));
    const answer = await fetchJson(url, {
      signal,
      headers: { accept: "application/json", "x-subscription-token": this.#apiKey },
    }, web) as BraveAnswer;
    return (answer.web?.results ?? []).map((result) => ({
      title: result.title ?? "",
      link: result.url ?? "",
      description: result.description ?? "",
    }));
  }
}
