/**
 * Test worker: the QuickJS executor over HTTP, with the QuickJS .wasm imported as a module (the Workers recipe
 * of `lib/executors/quickjs_executor.ts`).
 *
 *   GET  /          -> "ok" (readiness probe)
 *   POST /execute   { code, variables?, timeLimitMs?, memoryLimitBytes?, maxInterruptChecks? }
 *                   -> CodeExecutionResult (Uint8Array values as { bytes: number[] })
 * Tools: reverse_words({ text }) (async, waits on a timer), add({ a, b }).
 */

// @ts-types="../../../lib/executors/quickjs_wasm_module.d.ts"
import quickjsWasm from "../../../node_modules/@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm";
import type { SandboxTool } from "../../../lib/executors/executor.ts";
import { QuickJSExecutor } from "../../../lib/executors/quickjs_executor.ts";

interface ExecuteRequest {
  code: string;
  variables?: Record<string, unknown>;
  timeLimitMs?: number;
  memoryLimitBytes?: number;
  maxInterruptChecks?: number;
}

const tools: Record<string, SandboxTool> = {
  reverse_words: async ({ text }) => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    return String(text).split(" ").reverse().join(" ");
  },
  add: ({ a, b }) => Number(a) + Number(b),
};

function json(body: unknown, status = 200): Response {
  const text = JSON.stringify(body, (_key, value) => value instanceof Uint8Array ? { bytes: [...value] } : value);
  return new Response(text, { status, headers: { "content-type": "application/json" } });
}

export default {
  async fetch(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (request.method === "GET" && pathname === "/") return new Response("ok");
    if (request.method !== "POST" || pathname !== "/execute") return json({ error: "not found" }, 404);
    let body: ExecuteRequest;
    try {
      body = await request.json();
    } catch {
      return json({ error: "invalid JSON" }, 400);
    }
    const executor = new QuickJSExecutor({
      wasm: quickjsWasm,
      timeLimitMs: body.timeLimitMs,
      memoryLimitBytes: body.memoryLimitBytes,
      maxInterruptChecks: body.maxInterruptChecks,
    });
    const result = await executor.execute(body.code, { variables: body.variables ?? {}, tools });
    return json(result);
  },
};
