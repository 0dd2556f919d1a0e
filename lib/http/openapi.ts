import * as z from "zod";
import { VERSION } from "../version.ts";
import { COMPONENTS, REQUEST_BODIES, type SchemaName } from "./openapi_components.ts";
import { errorStatus, ROUTES, STREAMED } from "./openapi_route_table.ts";
import type { RouteDoc, RouteSpec } from "./openapi_route_spec.ts";

/**
 * `GET /openapi.json`: an OpenAPI 3.1 document generated from the zod schemas the routes validate request bodies
 * with (./http_schemas.ts) and the response schemas (./http_response_schemas.ts), through zod 4's `z.toJSONSchema`.
 * The route table (./openapi_route_table.ts) is the one list of routes the document describes, and the one place a
 * route's body schema is named: `readJson` (./request_body.ts) validates with the table's schema for the route served.
 * tests/http/openapi_test.ts walks the app's mounted routes against it and validates real responses against the
 * document.
 */

export interface OpenApiOptions {
  /** The app requires API keys on `/v1` (and `/metrics`). */
  apiKeys: boolean;
  /** The app serves `/metrics`. */
  metrics: boolean;
  /** The app serves the playground pages (default true). */
  playground?: boolean;
  /** Routes of the app's plugins (`AppOptions.plugins`). */
  routes?: readonly RouteDoc[];
}

/** Codes answered with a `Retry-After` header. */
const RETRY_AFTER = new Set(["overloaded", "delivery_in_progress"]);

const headerObjects = (headers: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(headers).map(([name, description]) => [name, { description, schema: { type: "string" } }]),
  );

const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` });
const openApiPath = (path: string) => path.replace(/:(\w+)/g, "{$1}");

function operation(route: RouteSpec, options: OpenApiOptions) {
  const parameters = [
    ...[...route.path.matchAll(/:(\w+)/g)].map(([, name]) => ({
      name,
      in: "path",
      required: true,
      schema: { type: "string" },
    })),
    ...(route.parameters ?? []).map((p) => ({ ...p, required: false, schema: { type: "string" } })),
    ...(route.streamsStep
      ? [{
        name: "Accept",
        in: "header",
        required: false,
        description: "`text/event-stream` streams the step's model deltas, then the step.",
        schema: { type: "string" },
      }]
      : []),
  ];
  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(route.responses)) {
    const content: Record<string, unknown> = {};
    if (response.schema) content["application/json"] = { schema: ref(response.schema) };
    for (const media of [response.media ?? []].flat()) {
      content[media] = { schema: media === "application/json" ? { type: "object" } : { type: "string" } };
    }
    if (response.streams) {
      content["text/event-stream"] = {
        schema: { type: "string", description: STREAMED },
        "x-sse-events": { delta: ref("DeltaEvent"), step: ref(response.schema!), error: ref("Error") },
      };
    }
    if (response.eventStream) {
      const events = Object.entries(response.eventStream).map(([name, schema]) => [name, ref(schema)]);
      content["text/event-stream"] = { schema: { type: "string" }, "x-sse-events": Object.fromEntries(events) };
    }
    if (route.path === "/v1/runs/:runId/events") {
      content["text/event-stream"] = {
        schema: { type: "string" },
        "x-sse-events": {
          step: ref("StepRecord"),
          awaiting_input: { oneOf: [ref("PendingInput"), { type: "null" }] },
          delta: ref("DeltaEvent"),
          end: ref("RunEndEvent"),
        },
      };
    }
    responses[status] = {
      description: response.description,
      ...(response.headers ? { headers: headerObjects(response.headers) } : {}),
      ...(Object.keys(content).length ? { content } : {}),
    };
  }
  if (route.path === "/v1/agents/:name/runs") {
    const created = responses[201] as { content: Record<string, { schema: unknown }> };
    // With `firstStep` the answer is that step, as the step routes answer it.
    created.content["application/json"].schema = {
      anyOf: [ref("Run"), ref("StatelessRun"), ref("KvStep"), ref("StatelessStep")],
    };
    // Streamed (`Accept: text/event-stream`), a first step answers 200 with the step routes' events.
    responses[200] = {
      description: "With `firstStep` and `Accept: text/event-stream`: the first step's deltas, then the step",
      content: {
        "text/event-stream": {
          schema: { type: "string", description: STREAMED },
          "x-sse-events": {
            delta: ref("DeltaEvent"),
            step: { anyOf: [ref("KvStep"), ref("StatelessStep")] },
            error: ref("Error"),
          },
        },
      },
    };
  }
  const codes = new Set([...route.errors, "internal_error"]);
  if (route.auth && options.apiKeys) codes.add("unauthorized");
  const byStatus = new Map<number, string[]>();
  for (const code of codes) byStatus.set(errorStatus(code), [...(byStatus.get(errorStatus(code)) ?? []), code]);
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[status] = {
      description: `Error: ${list.map((code) => `\`${code}\``).join(", ")}`,
      ...(list.some((code) => RETRY_AFTER.has(code))
        ? { headers: headerObjects({ "Retry-After": "Seconds to wait before retrying." }) }
        : {}),
      content: {
        "application/json": {
          schema: {
            allOf: [ref(route.errorSchema ?? "Error"), {
              type: "object",
              properties: { error: { type: "object", properties: { code: { enum: list } } } },
            }],
          },
        },
      },
    };
  }
  return {
    operationId: `${route.method}${
      openApiPath(route.path).replace(/[{}]/g, "").split("/").map((s) => s.charAt(0).toUpperCase() + s.slice(1))
        .join("")
    }`,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(route.body
      ? { requestBody: { required: !route.bodyOptional, content: { "application/json": { schema: ref(route.body) } } } }
      : {}),
    responses,
    ...(route.auth && options.apiKeys ? { security: [{ apiKey: [] }] } : { security: [] }),
  };
}

/** The routes the app mounts with these options. */
export function mountedRoutes(options: OpenApiOptions): RouteSpec[] {
  return [
    ...ROUTES.filter((route) =>
      (options.metrics || !route.metricsOnly) && (options.playground !== false || !route.playgroundOnly)
    ),
    ...options.routes ?? [],
  ];
}

/** Builds the OpenAPI 3.1 document of an app with these options. */
export function openApiDocument(options: OpenApiOptions): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of mountedRoutes(options)) {
    (paths[openApiPath(route.path)] ??= {})[route.method] = operation(route, options);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "smolstep",
      version: VERSION,
      description: "Agents as a stepwise HTTP API. Every error is `{error: {code, message, retryable}}`.",
    },
    paths,
    components: {
      schemas: componentSchemas(),
      ...(options.apiKeys ? { securitySchemes: { apiKey: { type: "http", scheme: "bearer" } } } : {}),
    },
  };
}

/**
 * `components.schemas`: request bodies as the routes read them (`io: "input"`), responses as they are written, with
 * schemas shared between responses (a step record in a run and in a step) as `$ref`s.
 */
function componentSchemas(): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  const schemas: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(COMPONENTS)) {
    if (!REQUEST_BODIES.has(name)) {
      registry.add(schema, { id: name });
      continue;
    }
    const { $schema: _, ...json } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
    schemas[name] = json;
  }
  const responses = z.toJSONSchema(registry, {
    uri: (id) => `#/components/schemas/${id}`,
    unrepresentable: "any",
  }).schemas;
  for (const [name, json] of Object.entries(responses)) {
    const { $schema: _, $id: __, ...rest } = json as Record<string, unknown>;
    schemas[name] = rest;
  }
  return schemas;
}
