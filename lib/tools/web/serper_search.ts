import { endpoint, type KeyedProviderOptions, KeyedSearchProvider, type SearchResult } from "./search_provider.ts";

export const SERPER_URL = "https://google.serper.dev";

interface SerperAnswer {
  organic?: Array<{ title?: string; link?: string; snippet?: string }>;
}

/** Serper's Google search API: `POST /search` with `{q, num}` and `X-API-KEY`. */
export class SerperSearch extends KeyedSearchProvider {
  constructor(options: KeyedProviderOptions) {
    super("serper", options, SERPER_URL);
  }

  protected request(query: string, maxResults: number): { url: URL; init: RequestInit } {
    const headers = { "content-type": "application/json", "x-api-key": this.apiKey };
    const body = JSON.stringify({ q: query, num: maxResults });
    return { url: endpoint(this.baseUrl, "search"), init: { method: "POST", headers, body } };
  }

  protected results(answer: SerperAnswer): SearchResult[] {
    return (answer.organic ?? []).map((result) => ({
      title: result.title ?? "",
      link: result.link ?? "",
      description: result.snippet ?? "",
    }));
  }
}
