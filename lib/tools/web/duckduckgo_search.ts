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

/**
 * The organic results of a DuckDuckGo HTML result page. Tags are found by `indexOf` scans, each part of the page read
 * once: the regular expressions this replaced (`<div[^>]+class=...`) took quadratic time on a page of unclosed tags
 * (200 KB: 9 s, all of it blocking the host's event loop).
 */
export function parseDuckDuckGoHtml(html: string): SearchResult[] {
  const results: SearchResult[] = [];
  // Each result is a block opened by a div whose classes include `result`; a snippet stays with its title.
  const starts = [...openingTags(html, "div")].filter((tag) => /\bresult\b/.test(tag.classes));
  for (const [index, start] of starts.entries()) {
    if (/\bresult--ad\b/.test(start.classes)) continue;
    const block = html.slice(start.start, starts[index + 1]?.start ?? html.length);
    const title = [...openingTags(block, "a")].find((tag) => /\bresult__a\b/.test(tag.classes));
    const titleEnd = title ? block.indexOf("</a>", title.end) : -1;
    if (!title || titleEnd === -1) continue;
    const href = /href="([^"]*)"/.exec(title.text)?.[1];
    if (!href) continue;
    const snippet = [...openingTags(block)].find((tag) => /\bresult__snippet\b/.test(tag.classes));
    const close = /<\/(?:a|div|td)>/g;
    close.lastIndex = snippet?.end ?? 0;
    const snippetEnd = snippet ? close.exec(block)?.index : undefined;
    results.push({
      title: fragmentText(block.slice(title.end, titleEnd)),
      link: unwrapRedirect(decodeEntities(href)),
      description: snippet && snippetEnd !== undefined ? fragmentText(block.slice(snippet.end, snippetEnd)) : "",
    });
  }
  return results;
}

/** The opening tags of `html` (of one element name, or all), with their `class` attribute; linear in `html`. */
function* openingTags(
  html: string,
  name = "",
): Generator<{ start: number; end: number; text: string; classes: string }> {
  const opener = `<${name}`;
  for (let start = html.indexOf(opener); start !== -1; start = html.indexOf(opener, start + 1)) {
    const after = html[start + opener.length] ?? "";
    if (name ? !/[\s>]/.test(after) : !/[a-zA-Z]/.test(after)) continue;
    const close = html.indexOf(">", start);
    if (close === -1) return;
    const text = html.slice(start, close + 1);
    yield { start, end: close + 1, text, classes: /class="([^"]*)"/.exec(text)?.[1] ?? "" };
    start = close;
  }
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
