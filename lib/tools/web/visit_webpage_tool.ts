import { EgressError } from "../../net/egress.ts";
import { clipText } from "../../text_clip.ts";
import { Tool, type ToolContext } from "../tool.ts";
import type { ToolInputs } from "../tool_inputs.ts";
import { htmlChunks } from "./html_chunks.ts";
import { decodeEntities } from "./html_text.ts";
import { fetchText, WebRequestError, type WebToolOptions } from "./web_request.ts";

/** Converts a page's HTML to Markdown. */
export type HtmlToMarkdown = (html: string) => string | Promise<string>;

export interface VisitWebpageToolOptions extends WebToolOptions {
  /** Longest Markdown returned, in characters (default 40,000, as smolagents); longer pages are cut with a note. */
  maxOutputLength?: number;
  /** Time limit of the page request in milliseconds (default 20,000, as smolagents). */
  requestTimeoutMs?: number;
  /** The converter (default: `html-to-md`, imported on first use). */
  htmlToMarkdown?: HtmlToMarkdown;
}

export const DEFAULT_MAX_OUTPUT_LENGTH = 40_000;

/**
 * `visit_webpage` (smolagents' `VisitWebpageTool`): fetches a page through the egress guard and returns it as
 * Markdown, runs of blank lines collapsed, cut at `maxOutputLength` characters. Failures are returned as text the
 * model reads (a timeout, an error status, a refused URL), as smolagents does; a cancelled step still aborts.
 */
export class VisitWebpageTool extends Tool<{ url: string }, string> {
  readonly name = "visit_webpage";
  readonly description =
    "Visits a webpage at the given url and reads its content as a markdown string. Use this to browse webpages.";
  readonly inputs: ToolInputs = { url: { type: "string", description: "The url of the webpage to visit." } };
  readonly outputType = "string" as const;
  readonly maxOutputLength: number;
  readonly requestTimeoutMs: number;
  readonly #web: WebToolOptions;
  #convert: HtmlToMarkdown | undefined;

  constructor(options: VisitWebpageToolOptions = {}) {
    super();
    this.maxOutputLength = options.maxOutputLength ?? DEFAULT_MAX_OUTPUT_LENGTH;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 20_000;
    this.#web = { egress: options.egress, fetch: options.fetch };
    this.#convert = options.htmlToMarkdown;
  }

  /** Loads the converter once, on first use, so agents that never visit a page never load it. */
  override async setup(): Promise<void> {
    this.#convert ??= await loadHtmlToMarkdown();
  }

  async forward({ url }: { url: string }, context: ToolContext): Promise<string> {
    const timeout = AbortSignal.timeout(this.requestTimeoutMs);
    const signal = context.signal ? AbortSignal.any([context.signal, timeout]) : timeout;
    try {
      const html = await fetchText(url, { signal, headers: { accept: "text/html,*/*;q=0.8" } }, this.#web);
      return truncateWebContent(await this.#markdown(html, signal), this.maxOutputLength);
    } catch (error) {
      if (context.signal?.aborted) throw context.signal.reason ?? error;
      if (timeout.aborted) return "The request timed out. Please try again later or check the URL.";
      if (error instanceof WebRequestError || error instanceof EgressError || error instanceof TypeError) {
        return `Error fetching the webpage: ${(error as Error).message}`;
      }
      return `An unexpected error occurred: ${(error as Error).message}`;
    }
  }

  /**
   * The page as Markdown, converted piece by piece (`htmlChunks`: linear work whatever the page), letting the event
   * loop run between pieces, and stopping once there is more than `maxOutputLength` to show or `signal` aborts.
   */
  async #markdown(html: string, signal: AbortSignal): Promise<string> {
    const parts: string[] = [];
    let length = 0;
    for (const piece of htmlChunks(html)) {
      const part = (await this.#convert!(piece)).trim().replace(/\n{3,}/g, "\n\n");
      if (part) parts.push(part);
      length += part.length + 2;
      if (length > this.maxOutputLength + 2) break;
      await new Promise((resolve) => setTimeout(resolve, 0));
      signal.throwIfAborted();
    }
    return parts.join("\n\n");
  }
}

/** smolagents' `_truncate_content` of VisitWebpageTool: the head, then a note naming the limit. */
export function truncateWebContent(content: string, maxLength: number): string {
  return clipText(
    content,
    maxLength,
    `\n..._This content has been truncated to stay below ${maxLength} characters_...\n`,
  );
}

/**
 * The default converter: `html-to-md` (no DOM, no dependencies; runs on Deno, Node, Workers and in browsers), with
 * the character references it leaves (`&mdash;`, `&#8217;`...) decoded afterwards.
 */
export async function loadHtmlToMarkdown(): Promise<HtmlToMarkdown> {
  // A CommonJS module: its `module.exports` is the function (the default import at run time, whatever its typings say).
  const module = await import("html-to-md");
  const html2md = ((module as { default: unknown }).default as { default?: unknown }).default ?? module.default;
  const convert = html2md as unknown as (html: string) => string;
  return (html) => decodeEntities(convert(html));
}
