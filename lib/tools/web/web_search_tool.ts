import { Tool, type ToolContext } from "../tool.ts";
import type { ToolInputs } from "../tool_inputs.ts";
import { BraveSearch } from "./brave_search.ts";
import { DuckDuckGoSearch } from "./duckduckgo_search.ts";
import type { SearchProvider, SearchResult } from "./search_provider.ts";
import { SerperSearch } from "./serper_search.ts";
import { TavilySearch } from "./tavily_search.ts";
import type { WebToolOptions } from "./web_request.ts";

/** The built-in providers by name. */
export type SearchProviderName = "duckduckgo" | "brave" | "serper" | "tavily";

export interface WebSearchToolOptions extends WebToolOptions {
  /** A built-in provider by name (default "duckduckgo", no key), or your own `SearchProvider`. */
  provider?: SearchProviderName | SearchProvider;
  /** The provider's key (Brave, Serper, Tavily). */
  apiKey?: string;
  /** The provider's base URL (default: its public endpoint). */
  baseUrl?: string;
  /** Results returned (default 10, as smolagents). */
  maxResults?: number;
}

/** Builds a built-in provider from its name, key and base URL. */
export function searchProvider(options: WebSearchToolOptions = {}): SearchProvider {
  const { provider = "duckduckgo", apiKey = "", baseUrl } = options;
  if (typeof provider !== "string") return provider;
  switch (provider) {
    case "duckduckgo":
      return new DuckDuckGoSearch({ baseUrl });
    case "brave":
      return new BraveSearch({ apiKey, baseUrl });
    case "serper":
      return new SerperSearch({ apiKey, baseUrl });
    case "tavily":
      return new TavilySearch({ apiKey, baseUrl });
    default:
      throw new TypeError(`Unknown search provider '${provider}' (duckduckgo, brave, serper or tavily).`);
  }
}

/**
 * `web_search` (smolagents' `WebSearchTool`): the top results of a web search as Markdown, `## Search Results`
 * then `[title](link)\ndescription` per result. DuckDuckGo's HTML endpoint by default; Brave, Serper or Tavily with a
 * key. No results throws, so the model sees an error and tries another query.
 */
export class WebSearchTool extends Tool<{ query: string }, string> {
  readonly name = "web_search";
  readonly description =
    "Performs a web search for a query and returns a string of the top search results formatted as markdown with titles, links, and descriptions.";
  readonly inputs: ToolInputs = { query: { type: "string", description: "The search query to perform." } };
  readonly outputType = "string" as const;
  readonly provider: SearchProvider;
  readonly maxResults: number;
  readonly #web: WebToolOptions;

  constructor(options: WebSearchToolOptions = {}) {
    super();
    this.provider = searchProvider(options);
    this.maxResults = options.maxResults ?? 10;
    this.#web = { egress: options.egress, fetch: options.fetch };
  }

  async forward({ query }: { query: string }, context: ToolContext): Promise<string> {
    const results = await this.provider.search({
      query,
      maxResults: this.maxResults,
      signal: context.signal,
      web: this.#web,
    });
    if (results.length === 0) throw new Error("No results found! Try a less restrictive/shorter query.");
    return formatSearchResults(results.slice(0, this.maxResults));
  }
}

/** smolagents' format: `## Search Results` and one `[title](link)\ndescription` block per result. */
export function formatSearchResults(results: SearchResult[]): string {
  return "## Search Results\n\n" +
    results.map((result) => `[${result.title}](${result.link})\n${result.description}`).join("\n\n");
}
