import assert from "node:assert/strict";
import { type ActionStep, MemoryBlobStore, ToolCallingAgent } from "../../lib/mod.ts";
import { Tool } from "../../lib/hub/mod.ts";
import { functionModel } from "../support/function_model.ts";
import { GradioAppError, startGradioApp } from "../support/gradio_app_server.ts";
import { IMAGE_APP_INFO, PNG } from "./gradio_fixtures.ts";

Deno.test("an agent calls a Space tool: the image comes back as an agent value, the app's error as a tool error", async () => {
  await using app = await startGradioApp({
    info: IMAGE_APP_INFO,
    heartbeats: 3,
    handlers: {
      infer: (data, self) => {
        if (data[0] === "a forbidden thing") throw new GradioAppError("NSFW content detected");
        return [self.serveFile("/tmp/gradio/r/image.webp", { bytes: PNG, type: "image/png" }), data[1]];
      },
    },
  });
  app.spaces.set("black-forest-labs/FLUX.1-schnell", app.origin);
  const generator = await Tool.fromSpace("black-forest-labs/FLUX.1-schnell", {
    name: "image_generator",
    description: "Generates an image from a prompt.",
    hubUrl: app.origin,
    egress: { allowPrivateNetwork: true },
  });
  const scripted = functionModel([
    { calls: [["image_generator", { prompt: "a red dot", seed: 3, randomize_seed: null }]] },
    { calls: [["image_generator", { prompt: "a forbidden thing" }]] },
    { calls: [["final_answer", { answer: "done" }]] },
  ]);
  const agent = new ToolCallingAgent({ name: "artist", model: scripted.model, tools: [generator] });
  const blobs = new MemoryBlobStore();

  let state = agent.start("Draw a red dot.");
  ({ state } = await agent.step(state, { blobs }));
  const drawn = state.steps.at(-1) as ActionStep;
  assert.equal(drawn.error, null);
  const ref = drawn.observations!;
  assert.match(ref, /^blob:sha256:[0-9a-f]{64};type=image\/png$/, "the image is stored; the state holds its ref");
  assert.deepEqual((await blobs.resolve(ref)).bytes, PNG);
  const posted = app.requests.filter((r) => r.method === "POST").map((r) => r.path);
  assert.deepEqual(posted, ["/gradio_api/call/infer"]);
  assert.deepEqual(app.calls[0].data, ["a red dot", 3, true], "a null optional takes the app's default");

  ({ state } = await agent.step(state, { blobs }));
  const refused = state.steps.at(-1) as ActionStep;
  assert.match(refused.error?.message ?? "", /NSFW content detected/);
  assert.equal(state.status, "running", "the run goes on");

  ({ state } = await agent.step(state, { blobs }));
  assert.equal(state.finalAnswer, "done");
  const seen = JSON.stringify(scripted.calls[2].messages);
  assert.match(seen, /NSFW content detected/, "the model saw the app's error");
  assert.match(seen, /blob:sha256:/, "and the image's reference");
});
