import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { GradioAppError, startGradioApp } from "../support/gradio_app_server.ts";
import { startWranglerDev } from "../support/wrangler_dev.ts";
import { IMAGE_APP_INFO, PNG } from "./gradio_fixtures.ts";

const CONFIG = fileURLToPath(new URL("../support/workers/spaces_harness.toml", import.meta.url));

Deno.test("Tool.fromSpace runs inside workerd (wrangler dev): API info, SSE call, upload, file, errors", async () => {
  await using app = await startGradioApp({
    info: IMAGE_APP_INFO,
    heartbeats: 2,
    handlers: {
      infer: (data, self) => {
        if (data[0] === "boom") throw new GradioAppError("out of memory");
        return [self.serveFile("/tmp/gradio/w/out.png", { bytes: PNG, type: "image/png" }), 1];
      },
      caption: (data, self) => [`${self.files.get((data[0] as { path: string }).path)?.bytes.length} bytes`],
    },
  });
  app.spaces.set("black-forest-labs/FLUX.1-schnell", app.origin);
  const dev = await startWranglerDev({ config: CONFIG });
  try {
    const response = await fetch(`${dev.url}/run?${new URLSearchParams({ app: app.origin })}`);
    const result = await response.json();
    assert.equal(response.status, 200, JSON.stringify(result));
    assert.deepEqual(result, {
      declared: "image/png",
      inputs: ["prompt", "seed", "randomize_seed"],
      image: { size: PNG.length, type: "image/png" },
      caption: `${PNG.length} bytes`,
      failure: "GradioError: /infer failed: out of memory",
      refused: "EgressError",
    });
    assert.ok(app.requests.some((r) => r.path === "/gradio_api/upload"));
  } finally {
    await dev.close();
  }
});
