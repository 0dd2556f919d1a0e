import { endpoint, type KeyedProviderOptions, KeyedSearchProvider, type SearchResult } from "./search_provider.ts";

export const BRAVE_SEARCH_URL = "https://api.search.brave.com";

interface BraveAnswer {
  web?: { results?: Array<{ title?: string; url?: string; description?: string }> };
}

/** Brave Search's Web Search API: `GET /res/v1/web/search?q=&count=` with `X-Subscription-Token`. */
export class BraveSearch extends KeyedSearchProvider {
  constructor(options: KeyedProviderOptions) {
    super("brave", options, BRAVE_SEARCH_URL);
  }

  protected request(query: string, maxResults: number): { url: URL; init: RequestInit } {
    const url = endpoint(this.baseUrl, "res/v1/web/search");
    url.searchParams.set("q", query);
    url.searchParams.set("count", String(Math.min(maxResults, 20)));
    return { url, init: { headers: { accept: "application/json", "x-subscription-token": this.apiKey } } };
  }

  protected results(answer: BraveAnswer): SearchResult[] {
    return (answer.web?.results ?? []).map((result) => ({
      title: result.title ?? "",
      link: result.url ?? "",
      description: result.description ?? "",
    }));
  }
}
