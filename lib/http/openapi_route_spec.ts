/**
 * How a route is described in the OpenAPI document: `RouteDoc` in terms any module can use (a plugin's routes),
 * `RouteSpec` for the built-in routes of ./openapi_route_table.ts, whose bodies and responses name the app's schemas.
 */
import type { BodyName, SchemaName } from "./openapi_components.ts";

/** The errors of any route that reads a JSON body (`request_timeout`: it did not arrive in time, ./body_deadline.ts). */
export const BODY_ERRORS = [
  "request_timeout",
  "invalid_request",
  "invalid_json",
  "json_too_deep",
  "json_too_large",
  "payload_too_large",
  "unsupported_media_type",
];

/** A route as the document describes it, in terms any module can use (a plugin's routes: `AppPlugin.routes`). */
export interface RouteDoc {
  method: "get" | "post" | "delete";
  /** Hono's path syntax (`:name`); the document uses `{name}`. */
  path: string;
  summary: string;
  description?: string;
  /** Success and error responses answered as the route's own media type (`media`), not as the app's schemas. */
  responses: Record<number, { description: string; media?: string | string[]; headers?: Record<string, string> }>;
  /** Error codes this route answers with (status from `ERROR_STATUS` or `ROUTE_ERROR_STATUS`). */
  errors: string[];
  /** Needs the API key when the app has `apiKeys`. */
  auth?: boolean;
  /** Query parameters and headers. */
  parameters?: Array<{ name: string; in: "query" | "header"; description: string }>;
}

/** A built-in route: its body and responses may name the app's schemas (./openapi_components.ts). */
export interface RouteSpec extends RouteDoc {
  /** Names of the request-body schema; `bodyOptional` when a bodiless request is fine. */
  body?: BodyName;
  bodyOptional?: boolean;
  /** Success responses: status -> schema name (JSON), or a media type description for non-JSON answers. */
  responses: Record<
    number,
    {
      description: string;
      schema?: SchemaName;
      /** Non-JSON answers: their media types (a string body each). */
      media?: string | string[];
      streams?: boolean;
      headers?: Record<string, string>;
      /** Also answered as `text/event-stream`: the schema of each event's data, by event name (`data`: no name). */
      eventStream?: Record<string, SchemaName>;
    }
  >;
  /** The error body's schema (default `Error`; the OpenAI-compatible routes answer in OpenAI's shape). */
  errorSchema?: SchemaName;
  /** Under `/v1`: needs the API key when the app has `apiKeys`. */
  auth?: boolean;
  /** Step routes: `Accept: text/event-stream` streams deltas then the step (Round 3 contract). */
  streamsStep?: boolean;
  /** Present only when the app has metrics on. */
  metricsOnly?: boolean;
  /** Present only when the app serves the playground pages. */
  playgroundOnly?: boolean;
}
