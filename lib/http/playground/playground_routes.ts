import type { Context, Hono } from "hono";
import { compress } from "hono/compress";
import { PAGE_SCRIPT } from "./page_script.ts";
import { PAGE_STYLE } from "./page_style.ts";
import { playgroundPage, toolPage } from "./pages.ts";

/**
 * Everything the pages load comes from this app (no CDN), and nothing else may run or be fetched: the API key
 * typed into the page can only go to this origin. `blob:` images and audio are the run's blobs, fetched by the page
 * with the key in a header and shown through object URLs.
 */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data: blob:; " +
  "media-src 'self' data: blob:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

function page(c: Context, body: string, type: string): Response {
  return c.body(body, 200, {
    "Content-Type": type,
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
  });
}

/**
 * The playground (`GET /`) and the tool demo pages (`GET /tools/{name}`), with their script and stylesheet. The
 * pages are public (they hold no data); every call they make goes to `/v1/*` with the key typed into the page.
 */
export function mountPlayground(app: Hono): void {
  const html = playgroundPage();
  // gzip when the browser accepts it (CompressionStream: Web standard, in Deno and Workers alike).
  for (const path of ["/", "/playground.js", "/playground.css", "/tools/:name"]) app.get(path, compress());
  app.get("/", (c) => page(c, html, "text/html; charset=utf-8"));
  app.get("/playground.js", (c) => page(c, PAGE_SCRIPT, "text/javascript; charset=utf-8"));
  app.get("/playground.css", (c) => page(c, PAGE_STYLE, "text/css; charset=utf-8"));
  app.get("/tools/:name", (c) => page(c, toolPage(c.req.param("name")), "text/html; charset=utf-8"));
}
