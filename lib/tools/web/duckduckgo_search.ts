import { decodeEntities, fragmentText } from "./html_text.ts";
import { endpoint, type SearchProvider, type SearchRequest, type SearchResult } from "./search_provider.ts";
import { fetchText } from "./web_request.ts";

export const DUCKDUCKGO_HTML_URL = "https://html.duckduckgo.com";

/**
 * DuckDuckGo's HTML endpoint (`/html/?q=...`), no key: the result page is parsed for each organic result's title
 * link (`a.result__a`) and snippet (`.result__snippet`); ads (`result--ad`) are skipped and DuckDuckGo's redirect
 * links (`/l/?uddg=...`) are unwrapped to the target URL.
 */
export class DuckDuckGoSearch implements SearchProvider {
  readonly name = "duckduckgo";
  readonly baseUrl: string;

  constructor(options: { baseUrl?: string } = {}) {
    this.baseUrl = options.baseUrl ?? DUCKDUCKGO_HTML_URL;
  }

  async search({ query, maxResults, signal, web }: SearchRequest): Promise<SearchResult[]> {
    const url = endpoint(this.baseUrl, "html/");
    url.searchParams.set("q", query);
    const html = await fetchText(url, { signal, headers: { "user-agent": "Mozilla/5.0", accept: "text/html" } }, web);
    return parseDuckDuckGoHtml(html).slice(0, maxResults);
  }
}

/** The organic results of a DuckDuckGo HTML result page. */
export function parseDuckDuckGoHtml(html: string): SearchResult[] {
  const results: SearchResult[] = [];
  // Each result is a block opened by a div whose classes include `result`; a snippet stays with its title.
  const starts = [...html.matchAll(/<div[^>]+class="([^"]*)"/g)].filter((match) => /\bresult\b/.test(match[1]));
  for (const [index, start] of starts.entries()) {
    if (/\bresult--ad\b/.test(start[1])) continue;
    const block = html.slice(start.index, starts[index + 1]?.index ?? html.length);
    const title = /<a[^>]*class="[^"]*\bresult__a\b[^"]*"[^>]*>([\s\S]*?)<\/a>/.exec(block);
    if (!title) continue;
    const href = /href="([^"]*)"/.exec(title[0])?.[1];
    if (!href) continue;
    const snippet = /class="[^"]*\bresult__snippet\b[^"]*"[^>]*>([\s\S]*?)<\/(?:a|div|td)>/.exec(block);
    results.push({
      title: fragmentText(title[1]),
      link: unwrapRedirect(decodeEntities(href)),
      description: snippet ? fragmentText(snippet[1]) : "",
    });
  }
  return results;
}

function unwrapRedirect(href: string): string {
  const absolute = href.startsWith("//") ? `https:${href}` : href;
  try {
    const url = new URL(absolute, DUCKDUCKGO_HTML_URL);
    const target = url.pathname === "/l/" ? url.searchParams.get("uddg") : null;
    return target ?? url.href;
  } catch {
    return href;
  }
}
