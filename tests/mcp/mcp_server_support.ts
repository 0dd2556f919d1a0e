import { z } from "zod";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { OpenAIServerModel, tool, ToolCallingAgent } from "../../lib/mod.ts";
import { type AppOptions, createSmolstep, InProcessQueue } from "../../lib/server.ts";
import { sha256Hex } from "../../lib/stores/blob_ref.ts";
import { directCallTools } from "../support/direct_tools.ts";
import type { ScriptedModelServer } from "../support/scripted_model_server.ts";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { startDropProxy } from "./mcp_drop_proxy.ts";

/** A 1x1 PNG. */
export const PNG = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="),
  (c) => c.charCodeAt(0),
);

/** The blob ref the PNG gets when a tool returns it in a KV run. */
export const pngRef = async () => `blob:sha256:${await sha256Hex(PNG)};type=image/png`;

/** One agent, `helper`, with an adder, a drawing tool and a tool that may not be called outside a run. */
export function helperAgents(model: ScriptedModelServer) {
  const openai = new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 });
  const { add, secret } = directCallTools();
  const draw = tool({
    name: "draw",
    description: "Draws a dot.",
    inputs: z.object({}),
    output: "image",
    run: () => PNG,
  });
  return {
    helper: new ToolCallingAgent({
      name: "helper",
      description: "Adds numbers and draws dots.",
      model: openai,
      tools: [add, draw, secret],
      maxSteps: 5,
    }),
  };
}

/** The app on loopback (an in-process queue with `background`), closed with `close()`. */
export function serveApp(options: AppOptions & { background?: boolean }) {
  const queue = options.background ? new InProcessQueue() : undefined;
  // A short lock with a queue: the watchdog copies of each step message arrive soon after, so the queue goes idle.
  const smolstep = createSmolstep({ retryDelayMs: 5, ...(queue ? { queue, lockTtlMs: 200 } : {}), ...options });
  queue?.listen(smolstep.handleQueueMessage);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  return {
    url,
    async close() {
      if (queue) {
        await queue.idle();
        queue.close();
      }
      await server.shutdown();
    },
  };
}

/** An SDK client connected to `urls` (requests go round-robin over them when there are several). */
export async function connect(urls: string | string[], headers: Record<string, string> = {}) {
  const list = typeof urls === "string" ? [urls] : urls;
  let next = 0;
  const seen: string[] = [];
  const roundRobin: typeof fetch = (input, init) => {
    const base = list[next++ % list.length];
    const url = new URL(String(input instanceof Request ? input.url : input));
    seen.push(base);
    return fetch(`${base}${url.pathname}`, init);
  };
  const client = new Client({ name: "smolstep-test", version: "0.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(`${list[0]}/mcp`), {
    fetch: roundRobin,
    requestInit: { headers },
  });
  await client.connect(transport);
  return { client, seen };
}

/**
 * Starts a `tools/call` of `helper` over raw HTTP (no `MCP-Protocol-Version`: a call that cannot be resumed), reads
 * until the run is named, then leaves: the run's id. `meta` is added to the call's `_meta`.
 */
export async function callThenLeave(
  url: string,
  headers: Record<string, string> = {},
  meta: Record<string, unknown> = {},
): Promise<string> {
  const abort = new AbortController();
  const response = await fetch(`${url}/mcp`, {
    method: "POST",
    headers: { ...headers, "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "helper", arguments: { task: "slow" }, _meta: { ...meta, progressToken: "p" } },
    }),
    signal: abort.signal,
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("started")) text += (await reader.read()).value ?? "";
  abort.abort();
  await reader.cancel().catch(() => {});
  return text.match(/Run ([\w-]+) started/)![1];
}

/** The run's status once it is `wanted`, or the last one read within about 5 s. */
export async function statusWithin5s(
  api: { get(path: string): Promise<{ body: { status: string } }> },
  runId: string,
  wanted: string,
): Promise<string> {
  let status = "";
  for (let i = 0; i < 100 && status !== wanted; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    status = (await api.get(`/v1/runs/${runId}`)).body.status;
  }
  return status;
}

/**
 * A `tools/call` of the example `assistant` at `url` by the SDK client, through a drop proxy (./mcp_drop_proxy.ts)
 * that cuts the POST's stream after the event `cutAfter` picks: the result, the progress numbers, the requests.
 */
export async function callAssistantThroughProxy(
  url: string,
  headers: Record<string, string>,
  cutAfter: (event: string) => boolean,
  timeout: number,
) {
  const proxy = startDropProxy({ post: url, get: url }, cutAfter);
  const { client } = await connect(proxy.url, headers);
  const progress: number[] = [];
  try {
    const result = await client.callTool({ name: "assistant", arguments: { task: "6 times 7?" } }, undefined, {
      onprogress: (p: { progress: number }) => void progress.push(p.progress),
      timeout,
    }) as CallToolResult;
    return { result, progress, requests: proxy.requests };
  } finally {
    await client.close();
    await proxy.close();
  }
}
