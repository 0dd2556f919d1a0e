import assert from "node:assert/strict";
import { z } from "zod";
import { tool, ToolCallingAgent } from "../../lib/mod.ts";
import { createApp } from "../../lib/server.ts";
import { apiClient } from "../support/http_client.ts";

/** Incompressible text (random base64), so a token grows by about its length. */
function noise(chars: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(chars * 3 / 4)));
  return btoa(String.fromCharCode(...bytes)).slice(0, chars);
}

Deno.test("attack: a stateless run grown past what a request may carry back is refused, not wedged", async (t) => {
  const maxBodyBytes = 64 * 1024;
  const agent = new ToolCallingAgent({
    name: "noisy",
    tools: [tool({
      name: "read_noise",
      description: "Returns 15,000 characters of noise.",
      inputs: z.object({}),
      run: () => noise(15_000),
    })],
    // Always reads more noise: each step keeps ~15,000 incompressible characters inline (no store, no blobs).
    model: () => ({
      content: null,
      toolCalls: [{ id: "c", type: "function", function: { name: "read_noise", arguments: {} } }],
    }),
  });
  const app = createApp({ agents: { noisy: agent }, secret: "stateless-size-secret-0123456789", maxBodyBytes });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const api = apiClient(`http://127.0.0.1:${server.addr.port}`);
  try {
    await t.step("a new stateless run whose token would not fit a request body is 413 task_too_large", async () => {
      const refused = await api.post("/v1/agents/noisy/runs", { task: noise(60_000), stateless: true });
      assert.deepEqual([refused.status, refused.body.error?.code], [413, "task_too_large"]);
    });

    await t.step("a step whose token would not fit is 507 state_too_large; the token sent stays usable", async () => {
      const created = await api.post("/v1/agents/noisy/runs", { task: "read noise", stateless: true });
      assert.equal(created.status, 201);
      let token: string = created.body.state;
      let refused: { status: number; body: { error?: { code: string; message: string } } } | undefined;
      for (let step = 0; step < 10 && !refused; step++) {
        const response = await api.post("/v1/agents/noisy/steps", { state: token });
        if (response.status === 200) {
          assert.ok(response.body.state.length + 16 * 1024 <= maxBodyBytes, "every token handed out fits a body");
          token = response.body.state;
        } else refused = response;
      }
      assert.ok(refused, "the run grew past the limit within 10 steps");
      assert.deepEqual([refused.status, refused.body.error?.code], [507, "state_too_large"]);
      // The last token handed out can still be sent (it fits) and is still accepted: it answers the same way.
      const again = await api.post("/v1/agents/noisy/steps", { state: token });
      assert.deepEqual([again.status, again.body.error?.code], [507, "state_too_large"]);
    });
  } finally {
    await server.shutdown();
  }
});
