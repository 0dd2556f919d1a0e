import {
  endpoint,
  type KeyedProviderOptions,
  requireKey,
  type SearchProvider,
  type SearchRequest,
  type SearchResult,
} from "./search_provider.ts";
import { fetchJson } from "./web_request.ts";

export const TAVILY_URL = "https://api.tavily.com";

interface TavilyAnswer {
  results?: Array<{ title?: string; url?: string; content?: string }>;
}

/** Tavily's search API: `POST /search` with `{query, max_results}` and `Authorization: Bearer <key>`. */
export class TavilySearch implements SearchProvider {
  readonly name = "tavily";
  readonly #apiKey: string;
  readonly baseUrl: string;

  constructor(options: KeyedProviderOptions) {
    this.#apiKey = requireKey(this.name, options.apiKey);
    this.baseUrl = options.baseUrl ?? TAVILY_URL;
  }

  async search({ query, maxResults, signal, web }: SearchRequest): Promise<SearchResult[]> {
    const answer = await fetchJson(endpoint(this.baseUrl, "search"), {
      method: "POST",
      signal,
      headers: { "content-type": "application/json", authorization: `Bearer ${this.#apiKey}` },
      body: JSON.stringify({ query, max_results: maxResults }),
    }, web) as TavilyAnswer;
    return (answer.results ?? []).map((result) => ({
      title: result.title ?? "",
      link: result.url ?? "",
      description: result.content ?? "",
    }));
  }
}
