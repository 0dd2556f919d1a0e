/**
 * The floor: the least a server can do per step. A bare `Deno.serve` whose every `POST /step` makes one chat
 * completion call to the same scripted model (with the same retries as smolstep's models: 4, full jitter from 1 s,
 * Retry-After honoured) and answers JSON. No framework, no store, no agent.
 *
 *   deno run -A bench/load/floor_server.ts --model-url=http://127.0.0.1:<port>/v1
 *
 * Prints one JSON line when ready: {"url": "http://127.0.0.1:<port>"}.
 */
import { parseArgs } from "node:util";
import { withRetry } from "../../lib/models/retry.ts";

const { values } = parseArgs({ args: Deno.args, options: { "model-url": { type: "string" } } });
const modelUrl = values["model-url"];
if (!modelUrl) throw new Error("--model-url is required");

/** What `defaultClassify` reads: a status and the response headers (for Retry-After). */
class ModelHttpError extends Error {
  constructor(readonly status: number, readonly headers: Headers) {
    super(`model answered ${status}`);
  }
}

async function callModel(): Promise<string> {
  const response = await fetch(`${modelUrl}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer floor" },
    body: JSON.stringify({ model: "floor", messages: [{ role: "user", content: "Say ok." }] }),
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new ModelHttpError(response.status, response.headers);
  }
  const completion = await response.json() as { choices: Array<{ message: { content: string } }> };
  return completion.choices[0].message.content;
}

const ready = Promise.withResolvers<Deno.NetAddr>();
Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ready.resolve }, async (req) => {
  if (req.method !== "POST" || new URL(req.url).pathname !== "/step") return new Response("not found", { status: 404 });
  await req.body?.cancel();
  try {
    const content = await withRetry(() => callModel());
    return Response.json({ status: "ok", content });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return Response.json({ error: { code: "model_error", message } }, { status: 502 });
  }
});
const { port } = await ready.promise;
console.log(JSON.stringify({ url: `http://127.0.0.1:${port}` }));
