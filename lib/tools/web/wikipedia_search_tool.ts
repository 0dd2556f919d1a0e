import { Tool, type ToolContext } from "../tool.ts";
import type { ToolInputs } from "../tool_inputs.ts";
import { endpoint } from "./search_provider.ts";
import { fetchJson, type WebToolOptions } from "./web_request.ts";

export interface WikipediaSearchToolOptions extends WebToolOptions {
  /** Sent as `User-Agent` and `Api-User-Agent`, as Wikimedia's policy asks: name your project and a contact. */
  userAgent?: string;
  /** The Wikipedia's language code (default "en"). */
  language?: string;
  /** "summary" (the lead section) or "text" (the whole article; default, as smolagents). */
  contentType?: "summary" | "text";
  /** "WIKI" (plain text, default) or "HTML", as smolagents' `extract_format`. */
  extractFormat?: "WIKI" | "HTML";
  /** The wiki's base URL (default `https://<language>.wikipedia.org`); the Action API is at `<baseUrl>/w/api.php`. */
  baseUrl?: string;
}

interface ActionApiAnswer {
  query?: {
    pages?: Array<{ title?: string; missing?: boolean; invalid?: boolean; extract?: string; fullurl?: string }>;
  };
  error?: { info?: string };
}

/**
 * `wikipedia_search` (smolagents' `WikipediaSearchTool`): the article with the given title (redirects followed)
 * through the MediaWiki Action API (`action=query&prop=extracts|info`), as smolagents formats it. A missing page and
 * failures are returned as text.
 */
export class WikipediaSearchTool extends Tool<{ query: string }, string> {
  readonly name = "wikipedia_search";
  readonly description =
    "Searches Wikipedia and returns a summary or full text of the given topic, along with the page URL.";
  readonly inputs: ToolInputs = { query: { type: "string", description: "The topic to search on Wikipedia." } };
  readonly outputType = "string" as const;
  readonly userAgent: string;
  readonly language: string;
  readonly contentType: "summary" | "text";
  readonly extractFormat: "WIKI" | "HTML";
  readonly baseUrl: string;
  readonly #web: WebToolOptions;

  constructor(options: WikipediaSearchToolOptions = {}) {
    super();
    this.userAgent = options.userAgent ?? "smolstep (https://github.com/smolstep/smolstep)";
    if (!this.userAgent) {
      throw new TypeError("User-agent is required. Provide a meaningful identifier for your project.");
    }
    this.language = options.language ?? "en";
    this.contentType = options.contentType ?? "text";
    this.extractFormat = options.extractFormat ?? "WIKI";
    if (this.extractFormat !== "WIKI" && this.extractFormat !== "HTML") {
      throw new TypeError("Invalid extractFormat. Choose between 'WIKI' or 'HTML'.");
    }
    this.baseUrl = options.baseUrl ?? `https://${this.language}.wikipedia.org`;
    this.#web = { egress: options.egress, fetch: options.fetch };
  }

  async forward({ query }: { query: string }, context: ToolContext): Promise<string> {
    if (this.contentType !== "summary" && this.contentType !== "text") {
      return "⚠️ Invalid `content_type`. Use either 'summary' or 'text'.";
    }
    const url = endpoint(this.baseUrl, "w/api.php");
    const params: Record<string, string> = {
      action: "query",
      format: "json",
      formatversion: "2",
      prop: "extracts|info",
      inprop: "url",
      redirects: "1",
      titles: query,
    };
    if (this.extractFormat === "WIKI") params.explaintext = "1";
    if (this.contentType === "summary") params.exintro = "1";
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    try {
      const answer = await fetchJson(url, {
        signal: context.signal,
        headers: { accept: "application/json", "user-agent": this.userAgent, "api-user-agent": this.userAgent },
      }, this.#web) as ActionApiAnswer;
      if (answer.error) throw new Error(answer.error.info ?? "the API answered with an error");
      const page = answer.query?.pages?.[0];
      if (!page || page.missing || page.invalid) {
        return `No Wikipedia page found for '${query}'. Try a different query.`;
      }
      const text = (page.extract ?? "").trim();
      return `✅ **Wikipedia Page:** ${page.title}\n\n**Content:** ${text}\n\n🔗 **Read more:** ${page.fullurl}`;
    } catch (error) {
      if (context.signal?.aborted) throw context.signal.reason ?? error;
      return `Error fetching Wikipedia summary: ${(error as Error).message}`;
    }
  }
}
