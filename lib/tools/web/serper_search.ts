import {
  endpoint,
  type KeyedProviderOptions,
  requireKey,
  type SearchProvider,
  type SearchRequest,
  type SearchResult,
} from "./search_provider.ts";
import { fetchJson } from "./web_request.ts";

export const SERPER_URL = "https://google.serper.dev";

interface SerperAnswer {
  organic?: Array<{ title?: string; link?: string; snippet?: string }>;
}

/** Serper's Google search API: `POST /search` with `{q, num}` and `X-API-KEY`. */
export class SerperSearch implements SearchProvider {
  readonly name = "serper";
  readonly #apiKey: string;
  readonly baseUrl: string;

  constructor(options: KeyedProviderOptions) {
    this.#apiKey = requireKey(this.name, options.apiKey);
    this.baseUrl = options.baseUrl ?? SERPER_URL;
  }

  async search({ query, maxResults, signal, web }: SearchRequest): Promise<SearchResult[]> {
    const answer = await fetchJson(endpoint(this.baseUrl, "search"), {
      method: "POST",
      signal,
      headers: { "content-type": "application/json", "x-api-key": this.#apiKey },
      body: JSON.stringify({ q: query, num: maxResults }),
    }, web) as SerperAnswer;
    return (answer.organic ?? []).map((result) => ({
      title: result.title ?? "",
      link: result.link ?? "",
      description: result.snippet ?? "",
    }));
  }
}
