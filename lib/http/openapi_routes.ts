import type { Hono } from "hono";
import { openApiDocument, type OpenApiOptions } from "./openapi.ts";
import { DOCS_HTML } from "./openapi_docs.ts";

/** `GET /openapi.json` (built once, on first request) and `GET /docs`; public, like `/health`. */
export function mountOpenApi(app: Hono, options: OpenApiOptions): void {
  let document: string | undefined;
  app.get("/openapi.json", (c) => {
    document ??= JSON.stringify(openApiDocument(options));
    return c.body(document, 200, { "Content-Type": "application/json; charset=utf-8" });
  });
  app.get("/docs", (c) => c.html(DOCS_HTML));
}
