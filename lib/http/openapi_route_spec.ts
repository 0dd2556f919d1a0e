import type { SchemaName } from "./openapi_components.ts";

/** The errors of any route that reads a JSON body. */
export const BODY_ERRORS = [
  "invalid_request",
  "invalid_json",
  "json_too_deep",
  "json_too_large",
  "payload_too_large",
  "unsupported_media_type",
];

/** One route as the OpenAPI document (lib/http/openapi.ts) describes it; the routes are in ./openapi_route_table.ts. */
export interface RouteSpec {
  method: "get" | "post" | "delete";
  /** Hono's path syntax (`:name`); the document uses `{name}`. */
  path: string;
  summary: string;
  description?: string;
  /** Names of the request-body schema; `bodyOptional` when a bodiless request is fine. */
  body?: SchemaName;
  bodyOptional?: boolean;
  /** Success responses: status -> schema name (JSON), or a media type description for non-JSON answers. */
  responses: Record<
    number,
    {
      description: string;
      schema?: SchemaName;
      media?: string;
      streams?: boolean;
      headers?: Record<string, string>;
      /** Also answered as `text/event-stream`: the schema of each event's data, by event name (`data`: no name). */
      eventStream?: Record<string, SchemaName>;
    }
  >;
  /** Error codes this route answers with (status from `ERROR_STATUS` or `ROUTE_ERROR_STATUS`). */
  errors: string[];
  /** Under `/v1`: needs the API key when the app has `apiKeys`. */
  auth?: boolean;
  /** Step routes: `Accept: text/event-stream` streams deltas then the step (Round 3 contract). */
  streamsStep?: boolean;
  /** Present only when the app has metrics on. */
  metricsOnly?: boolean;
  /** Present only when the app serves the playground pages. */
  playgroundOnly?: boolean;
  /** The error body's schema (default `Error`; the OpenAI-compatible routes answer in OpenAI's shape). */
  errorSchema?: SchemaName;
  /** Query parameters and headers. */
  parameters?: Array<{ name: string; in: "query" | "header"; description: string }>;
}
