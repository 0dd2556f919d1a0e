import assert from "node:assert/strict";
import {
  type AgentImage,
  ConfigurationError,
  EgressError,
  tool,
  ToolCollection as CoreToolCollection,
} from "../../lib/mod.ts";
import { GradioTool, ToolCollection } from "../../lib/hub/mod.ts";
import { z } from "zod";
import { startGradioApp } from "../support/gradio_app_server.ts";
import { IMAGE_APP_INFO, PNG } from "./gradio_fixtures.ts";

const SLUG = "huggingface-tools/diffusion-tools-6630bb19a942c2306a2cdb6f";

/** A collection as `GET /api/collections/{slug}` answers it (fields trimmed to those of a Space item). */
function collection(appOrigin: string) {
  const space = (id: string, extra: Record<string, unknown>) => ({
    _id: crypto.randomUUID().replaceAll("-", "").slice(0, 24),
    position: 0,
    type: "space",
    id,
    author: id.split("/")[0],
    repoType: "space",
    sdk: "gradio",
    private: false,
    runtime: { stage: "RUNNING", hardware: { current: "cpu-basic" } },
    ...extra,
  });
  return {
    appOrigin,
    json: {
      slug: SLUG,
      title: "Diffusion tools",
      owner: { name: "huggingface-tools", type: "org" },
      items: [
        space("black-forest-labs/FLUX.1-schnell", {
          title: "FLUX.1 [schnell]",
          note: { html: "<p>Makes images</p>", text: "Makes an image from a prompt." },
        }),
        { _id: "m1", position: 1, type: "model", id: "black-forest-labs/FLUX.1-schnell", repoType: "model" },
        space("someone/image-captioner", { title: "Image captioner", shortDescription: "Describes an image." }),
        { _id: "d1", position: 3, type: "dataset", id: "someone/pictures", repoType: "dataset" },
        space("black-forest-labs/FLUX.1-schnell", { title: "listed twice" }),
      ],
      private: false,
      upvotes: 3,
    },
  };
}

Deno.test("ToolCollection.fromHub loads a collection's Spaces as tools (loopback Hub and Gradio app)", async (t) => {
  await using app = await startGradioApp({
    info: IMAGE_APP_INFO,
    handlers: {
      infer: (_data, self) => [self.serveFile("/tmp/gradio/a.png", { bytes: PNG, type: "image/png" }), 1],
    },
  });
  app.spaces.set("black-forest-labs/FLUX.1-schnell", app.origin);
  app.spaces.set("someone/image-captioner", app.origin);
  app.collections.set(SLUG, collection(app.origin).json);
  const options = { hubUrl: app.origin, egress: { allowPrivateNetwork: true }, token: "hf_secret" };

  await t.step("refused without trustRemoteCode: true, before any request", async () => {
    await assert.rejects(ToolCollection.fromHub(SLUG, options), (error: unknown) => {
      assert.ok(error instanceof ConfigurationError);
      assert.match(error.message, /trustRemoteCode: true/);
      return true;
    });
    await assert.rejects(ToolCollection.fromHub(SLUG, { ...options, trustRemoteCode: "yes" as unknown as boolean }));
    assert.equal(app.requests.length, 0);
  });

  await t.step("each Space once, as a fromSpace tool described by its note or its description", async () => {
    const loaded = await ToolCollection.fromHub(SLUG, { ...options, trustRemoteCode: true });
    assert.ok(loaded instanceof ToolCollection && loaded instanceof CoreToolCollection);
    assert.deepEqual(loaded.tools.map((t) => [t.name, t.description]), [
      ["FLUX_1_schnell", "Makes an image from a prompt."],
      ["image_captioner", "Describes an image."],
    ]);
    assert.ok(loaded.tools.every((t) => t instanceof GradioTool));
    assert.deepEqual(await (await loaded.tools[0].call({ prompt: "x" }) as AgentImage).bytes(), PNG);
    const read = app.requests.find((r) => r.path === `/api/collections/${SLUG}`);
    assert.equal(read?.authorization, "Bearer hf_secret");
  });

  await t.step("loadTool decides how an item becomes a tool (e.g. a Hub tool run in the sandbox)", async () => {
    const seen: string[] = [];
    const loaded = await ToolCollection.fromHub(SLUG, {
      ...options,
      trustRemoteCode: true,
      loadTool: (item, given) => {
        seen.push(`${item.id} ${given.trustRemoteCode}`);
        return Promise.resolve(tool({
          name: item.id.split("/")[1].replace(/\W/g, "_"),
          description: item.title ?? "",
          inputs: z.object({}),
          run: () => "",
        }));
      },
    });
    assert.deepEqual(seen, ["black-forest-labs/FLUX.1-schnell true", "someone/image-captioner true"]);
    assert.equal(loaded.tools.length, 2);
  });

  await t.step("an unknown collection is an error from the Hub", async () => {
    await assert.rejects(
      ToolCollection.fromHub("nobody/none-0", { ...options, trustRemoteCode: true }),
      /could not read collection nobody\/none-0 \(404\)/,
    );
  });

  await t.step("the Hub URL goes through the egress rules", async () => {
    await assert.rejects(ToolCollection.fromHub(SLUG, { hubUrl: app.origin, trustRemoteCode: true }), EgressError);
  });
});
