/**
 * Test worker: `Tool.fromHub` under workerd. The QuickJS .wasm is imported as a module (the Workers recipe of
 * `lib/executors/quickjs_executor.ts`) and the loaded tool runs in that sandbox.
 *
 *   GET  /      -> "ok" (readiness probe)
 *   POST /call  { hubUrl, repoId, args, trustRemoteCode?, timeLimitMs? } -> { name, result } or { error }
 * The Hub is the test's loopback server, allowed by `egress: { allowPrivateNetwork: true }`.
 */

// @ts-types="../../../lib/executors/quickjs_wasm_module.d.ts"
import quickjsWasm from "../../../node_modules/@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm";
import { QuickJSExecutor } from "../../../lib/executors/quickjs_executor.ts";
import { Tool } from "../../../lib/hub/mod.ts";

interface CallRequest {
  hubUrl: string;
  repoId: string;
  args: Record<string, unknown>;
  trustRemoteCode?: boolean;
  timeLimitMs?: number;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (request.method === "GET" && pathname === "/") return new Response("ok");
    if (request.method !== "POST" || pathname !== "/call") {
      return Response.json({ error: "not found" }, { status: 404 });
    }
    const body: CallRequest = await request.json();
    const executor = new QuickJSExecutor({ wasm: quickjsWasm, timeLimitMs: body.timeLimitMs ?? 5_000 });
    try {
      const tool = await Tool.fromHub(body.repoId, {
        hubUrl: body.hubUrl,
        egress: { allowPrivateNetwork: true },
        trustRemoteCode: body.trustRemoteCode,
        executor,
      });
      return Response.json({ name: tool.name, result: await tool.call(body.args) });
    } catch (error) {
      return Response.json({ error: `${(error as Error).name}: ${(error as Error).message}` });
    }
  },
};
