import assert from "node:assert/strict";
import { createDenoQuickJSExecutor } from "../../lib/adapters/deno/quickjs_wasm_deno.ts";
import {
  type ActionStep,
  BlobStore,
  CodeAgent,
  OpenAIServerModel,
  Tool,
  ToolCallingAgent,
  type ToolInputs,
} from "../../lib/mod.ts";
import { createApp, MemoryStore } from "../../lib/server.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

/** A 1x1 PNG. */
const PNG = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="),
  (c) => c.charCodeAt(0),
);

class DrawTool extends Tool<{ prompt: string }, Uint8Array> {
  readonly name = "draw";
  readonly description = "Draws an image.";
  readonly inputs: ToolInputs = { prompt: { type: "string", description: "What to draw" } };
  readonly outputType = "image" as const;
  forward() {
    return PNG;
  }
}

const received: Uint8Array[] = [];

class MeasureTool extends Tool<{ image: Uint8Array }, number> {
  readonly name = "measure";
  readonly description = "Returns the size of an image in bytes.";
  readonly inputs: ToolInputs = { image: { type: "image", description: "The image (a reference)" } };
  readonly outputType = "integer" as const;
  forward({ image }: { image: Uint8Array }) {
    received.push(image);
    return image.length;
  }
}
const measure = new MeasureTool();

Deno.test("agent types: media outputs become blob references, references come back as bytes", async (t) => {
  const server = await startScriptedModelServer();
  const store = new MemoryStore();
  const model = new OpenAIServerModel({ modelId: "m", apiBase: server.url, apiKey: "k", maxRetries: 0 });
  const agent = new ToolCallingAgent({ name: "artist", model, tools: [new DrawTool(), measure] });
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    createApp({ agents: { artist: agent }, store }).fetch,
  );
  const api = apiClient(`http://127.0.0.1:${http.addr.port}`);
  try {
    await t.step("KV mode over HTTP: the observation and the state hold a short reference", async () => {
      server.enqueue(toolCallReply("draw", { prompt: "a dot" }));
      const { body: run } = await api.post("/v1/agents/artist/runs", { task: "Draw a dot and measure it." });
      const drawn = await api.post(`/v1/runs/${run.runId}/steps`);
      const ref = drawn.body.step.observations as string;
      assert.match(ref, /^blob:sha256:[0-9a-f]{64};type=image\/png$/);
      assert.equal(drawn.body.step.actionOutput, ref);
      const stored = await new BlobStore(store, { prefix: `runs/${run.runId}/blobs/` }).resolve(ref); // per run
      assert.deepEqual(stored.bytes, PNG);

      server.enqueue(toolCallReply("measure", { image: ref }));
      const measured = await api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(measured.body.step.observations, String(PNG.length));
      assert.deepEqual(received.at(-1), PNG);
    });

    await t.step("a CodeAgent's code gets the reference string, and can pass it on", async () => {
      let calls = 0;
      const coder = new CodeAgent({
        model: () => {
          calls++;
          return calls === 1
            ? "<code>\nconst img = await draw({ prompt: 'dot' });\nconst size = await measure({ image: img });\nfinal_answer([typeof img, img.slice(0, 12), size]);\n</code>"
            : "";
        },
        tools: [new DrawTool(), measure],
        executor: createDenoQuickJSExecutor(),
      });
      const state = coder.start("draw");
      const { state: done } = await coder.step(state, { blobs: new BlobStore(store) });
      assert.deepEqual(done.finalAnswer, ["string", "blob:sha256:", PNG.length]);
      assert.equal((done.steps[1] as ActionStep).error, null);
    });
  } finally {
    await http.shutdown();
    await server.close();
  }
});
