import type { RouteDoc } from "../../http/openapi_route_spec.ts";

const JSON_RPC_ERROR = "A JSON-RPC error object (`{jsonrpc, error: {code, message}, id: null}`)";

/** `/mcp` as `/openapi.json` describes it (an MCP endpoint: the JSON-RPC messages are MCP's, not in this document). */
export function mcpRoutes(path: string): RouteDoc[] {
  const noSession = {
    405: {
      description: `${JSON_RPC_ERROR}: a stateless server has no session stream or session to end`,
      media: "application/json",
    },
  };
  return [
    {
      method: "post",
      path,
      summary: "MCP Streamable HTTP (stateless): each agent is a tool; `tools/call` runs it to its final answer",
      description:
        "A JSON-RPC message or batch (initialize, ping, tools/list, tools/call; notifications are accepted with 202). " +
        "`Accept` must list `application/json` and `text/event-stream`. A request with `tools/call` is answered as " +
        "`text/event-stream` (progress notifications when `_meta.progressToken` is sent, then the result), others " +
        "as JSON. Bad JSON or JSON-RPC is a JSON-RPC error (400), a foreign `Origin` 403, a wrong `Content-Type` 415.",
      responses: {
        200: { description: "The JSON-RPC response(s), as JSON or as Server-Sent Events", media: "application/json" },
        202: { description: "Notifications or responses only: accepted, nothing to answer" },
        400: {
          description: `${JSON_RPC_ERROR}: not JSON, not JSON-RPC, or an unsupported protocol version`,
          media: "application/json",
        },
        403: {
          description: `${JSON_RPC_ERROR}: the Origin is not allowed by the app's cors option`,
          media: "application/json",
        },
        406: {
          description: `${JSON_RPC_ERROR}: Accept lacks application/json or text/event-stream`,
          media: "application/json",
        },
        408: {
          description: `${JSON_RPC_ERROR}: the body did not arrive within maxBodyWaitMs`,
          media: "application/json",
        },
        413: { description: `${JSON_RPC_ERROR}: the body is over maxBodyBytes`, media: "application/json" },
        415: { description: `${JSON_RPC_ERROR}: Content-Type is not application/json`, media: "application/json" },
      },
      errors: [],
      auth: true,
      parameters: [
        { name: "MCP-Protocol-Version", in: "header", description: "The negotiated MCP version." },
        {
          name: "Idempotency-Key",
          in: "header",
          description: "Names the POST's agent `tools/call` for its retries (1 to 200 characters), as " +
            '`params._meta["smolstep/idempotencyKey"]` does (which wins): the same call sent again with it within a ' +
            "day, by the same credentials, answers from the first call's run instead of starting another; the key " +
            "sent with another tool or other arguments is refused (an `isError` result).",
        },
      ],
    },
    {
      method: "get",
      path,
      summary: "Resumes a tool call's event stream from `Last-Event-ID` (405 without it: no server-initiated stream)",
      description:
        "A `tools/call` stream that carried event ids (an agent call from a client of protocol 2025-11-25 or later, " +
        "on a server with a store) can be taken up by any instance: the progress notifications after that event, " +
        "then the result, under the original JSON-RPC request id, following the same run. Only the credentials " +
        "the call was made with open its events.",
      responses: {
        200: { description: "The rest of the tool call's stream, as Server-Sent Events", media: "text/event-stream" },
        403: {
          description: `${JSON_RPC_ERROR}: the Origin is not allowed by the app's cors option`,
          media: "application/json",
        },
        404: {
          description: `${JSON_RPC_ERROR}: no tool call of this caller has this Last-Event-ID`,
          media: "application/json",
        },
        ...noSession,
      },
      errors: [],
      auth: true,
      parameters: [{ name: "Last-Event-ID", in: "header", description: "The last event id the client received." }],
    },
    {
      method: "delete",
      path,
      summary: "Not offered (405): no session to end",
      responses: noSession,
      errors: [],
      auth: true,
    },
  ];
}
