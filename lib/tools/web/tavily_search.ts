import { endpoint, type KeyedProviderOptions, KeyedSearchProvider, type SearchResult } from "./search_provider.ts";

export const TAVILY_URL = "https://api.tavily.com";

interface TavilyAnswer {
  results?: Array<{ title?: string; url?: string; content?: string }>;
}

/** Tavily's search API: `POST /search` with `{query, max_results}` and `Authorization: Bearer <key>`. */
export class TavilySearch extends KeyedSearchProvider {
  constructor(options: KeyedProviderOptions) {
    super("tavily", options, TAVILY_URL);
  }

  protected request(query: string, maxResults: number): { url: URL; init: RequestInit } {
    const headers = { "content-type": "application/json", authorization: `Bearer ${this.apiKey}` };
    const body = JSON.stringify({ query, max_results: maxResults });
    return { url: endpoint(this.baseUrl, "search"), init: { method: "POST", headers, body } };
  }

  protected results(answer: TavilyAnswer): SearchResult[] {
    return (answer.results ?? []).map((result) => ({
      title: result.title ?? "",
      link: result.url ?? "",
      description: result.content ?? "",
    }));
  }
}
