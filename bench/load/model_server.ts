/**
 * The load test's model, as its own process: the scripted OpenAI-compatible server answering every chat completion
 * after `--delay-ms` (default 50). Agent requests get a 3-step run: two calculator calls, then final_answer (counted
 * from the tool results already in the conversation). Floor requests (model "floor") get a short text.
 *
 * A second port takes control calls from the load driver: `POST /faults {"error500": 0.2, "error429": 0.1}` makes
 * that share of replies fail (after the same delay), `GET /stats` counts replies by kind.
 *
 *   deno run -A bench/load/model_server.ts --delay-ms=50
 *
 * Prints one JSON line when ready: {"modelUrl": "http://127.0.0.1:<port>/v1", "controlUrl": "http://127.0.0.1:<port>"}.
 */
import { parseArgs } from "node:util";
import { calculatorRunReply } from "../../tests/support/run_scenarios.ts";
import {
  type ReceivedRequest,
  type ScriptedReply,
  startScriptedModelServer,
} from "../../tests/support/scripted_model_server.ts";

/** Tool calls before the final answer: a run takes this + 1 steps. */
export const TOOL_STEPS = 2;

export interface Faults {
  error500: number;
  error429: number;
}

/** The reply for one request, given the fault shares and a random draw in [0, 1). */
export function loadReply(request: ReceivedRequest, faults: Faults, delayMs: number, draw: number): ScriptedReply {
  if (draw < faults.error500) return { status: 500, delayMs };
  if (draw < faults.error500 + faults.error429) return { status: 429, delayMs };
  if (request.body.model === "floor") return { content: "ok", delayMs };
  return { ...calculatorRunReply(request, TOOL_STEPS), delayMs };
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { "delay-ms": { type: "string", default: "50" } } });
  const delayMs = Number(values["delay-ms"]);
  let faults: Faults = { error500: 0, error429: 0 };
  const counts: Record<string, number> = {};
  const model = await startScriptedModelServer({
    replies: (request) => {
      const reply = loadReply(request, faults, delayMs, Math.random());
      const kind = typeof reply === "object" && reply.status ? String(reply.status) : "ok";
      counts[kind] = (counts[kind] ?? 0) + 1;
      // The scripted server records every request; a load test would keep them all.
      model.requests.length = 0;
      return reply;
    },
  });
  const ready = Promise.withResolvers<Deno.NetAddr>();
  Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ready.resolve }, async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method === "POST" && path === "/faults") {
      const body = await req.json() as Partial<Faults>;
      faults = { error500: body.error500 ?? 0, error429: body.error429 ?? 0 };
      return Response.json(faults);
    }
    if (req.method === "GET" && path === "/stats") return Response.json(counts);
    return new Response("not found", { status: 404 });
  });
  const { port } = await ready.promise;
  console.log(JSON.stringify({ modelUrl: model.url, controlUrl: `http://127.0.0.1:${port}` }));
}
