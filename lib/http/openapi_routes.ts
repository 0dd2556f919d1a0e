import type { Hono } from "hono";
import { openApiDocument, type OpenApiOptions } from "./openapi.ts";
import { DOCS_HTML, docsHeaders } from "./openapi_docs.ts";

/** `GET /openapi.json` (built once, on first request) and `GET /docs`; public, like `/health`. */
export function mountOpenApi(app: Hono, options: OpenApiOptions): void {
  let document: string | undefined;
  app.get("/openapi.json", (c) => {
    document ??= JSON.stringify(openApiDocument(options));
    return c.body(document, 200, { "Content-Type": "application/json; charset=utf-8" });
  });
  let headers: Promise<Record<string, string>> | undefined;
  app.get("/docs", async (c) => c.html(DOCS_HTML, 200, await (headers ??= docsHeaders())));
}
