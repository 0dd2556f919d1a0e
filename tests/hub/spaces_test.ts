import assert from "node:assert/strict";
import { AgentImage, EgressError } from "../../lib/mod.ts";
import { GradioError, GradioTool, Tool } from "../../lib/hub/mod.ts";
import { GradioAppError, type GradioAppServer, startGradioApp } from "../support/gradio_app_server.ts";
import { IMAGE_APP_INFO, PNG } from "./gradio_fixtures.ts";

const LOOPBACK = { allowPrivateNetwork: true };

/** An image app: `/infer` draws the PNG (failing on "boom"), `/caption` describes the uploaded file. */
function imageApp(options: { legacy?: boolean; unterminatedEnd?: boolean } = {}): Promise<GradioAppServer> {
  const calls: unknown[][] = [];
  return startGradioApp({
    ...options,
    info: IMAGE_APP_INFO,
    heartbeats: 2,
    handlers: {
      infer: (data, app) => {
        calls.push(data);
        if (data[0] === "boom") throw new GradioAppError("CUDA out of memory");
        if (data[0] === "silent") throw new GradioAppError(null);
        return [app.serveFile(`/tmp/gradio/out/${calls.length}.png`, { bytes: PNG, type: "image/png" }), 42];
      },
      caption: (data, app) => {
        const file = data[0] as { path: string };
        const uploaded = app.files.get(file.path);
        return [
          uploaded ? `an image of ${uploaded.bytes.length} bytes (${uploaded.type})` : `a picture at ${file.path}`,
        ];
      },
    },
  });
}

Deno.test("Tool.fromSpace / Tool.fromGradio over Gradio's HTTP API (loopback app)", async (t) => {
  await using app = await imageApp();
  app.spaces.set("black-forest-labs/FLUX.1-schnell", app.origin);

  await t.step("a Space id resolves through the Hub; inputs come from the API info", async () => {
    const tool = await Tool.fromSpace("black-forest-labs/FLUX.1-schnell", {
      hubUrl: app.origin,
      egress: LOOPBACK,
      token: "hf_secret",
    });
    assert.ok(tool instanceof GradioTool);
    assert.equal(tool.name, "FLUX_1_schnell");
    assert.equal(tool.apiName, "/infer", "the first named endpoint");
    assert.equal(tool.outputType, "image");
    assert.deepEqual(tool.inputs, {
      prompt: { type: "string", description: "Prompt" },
      seed: { type: "number", description: "numeric value between 0 and 2147483647", nullable: true },
      randomize_seed: { type: "boolean", description: "Randomize seed", nullable: true },
    });
    const hostLookup = app.requests.find((r) => r.path === "/api/spaces/black-forest-labs/FLUX.1-schnell/host");
    assert.equal(hostLookup?.authorization, "Bearer hf_secret");
    assert.equal(app.requests.find((r) => r.path === "/gradio_api/info")?.authorization, "Bearer hf_secret");
  });

  await t.step(
    "a call posts the data in order (defaults filled), reads the SSE stream, fetches the image",
    async () => {
      const tool = await Tool.fromGradio(app.origin, {
        name: "image_generator",
        description: "Generates an image from a prompt.",
        egress: LOOPBACK,
        token: "hf_secret",
      });
      app.requests.length = 0;
      const image = await tool.call({ prompt: "a dot", seed: 7 });
      assert.ok(image instanceof AgentImage);
      assert.deepEqual(await image.bytes(), PNG);
      assert.equal(image.mimeType, "image/png");
      assert.deepEqual(app.calls.at(-1), { api: "infer", data: ["a dot", 7, true] });
      const paths = app.requests.map((r) => `${r.method} ${r.path.replace(/[0-9a-f]{32}$/, "{id}")}`);
      assert.deepEqual(paths, [
        "POST /gradio_api/call/infer",
        "GET /gradio_api/call/infer/{id}",
        "GET /gradio_api/file=/tmp/gradio/out/1.png",
      ]);
      assert.ok(app.requests.every((r) => r.authorization === "Bearer hf_secret"), "the token goes to the app");
    },
  );

  await t.step(
    "bytes for an image input are uploaded first; an https: URL is passed for the app to fetch",
    async () => {
      const tool = await Tool.fromGradio(app.origin, { apiName: "caption", egress: LOOPBACK });
      assert.deepEqual(tool.inputs, { image: { type: "image", description: "Image" } });
      assert.equal(tool.outputType, "any");
      assert.equal(await tool.call({ image: PNG }), `an image of ${PNG.length} bytes (image/png)`);
      assert.ok(app.requests.some((r) => r.method === "POST" && r.path === "/gradio_api/upload"));
      assert.ok([...app.files.keys()].some((path) => path.endsWith("/file.png")), "named by what the bytes are");
      assert.equal(
        await tool.call({ image: "https://example.com/cat.png" }),
        "a picture at https://example.com/cat.png",
      );
    },
  );

  await t.step("an error event is a GradioError with the app's message (or a generic one)", async () => {
    const tool = await Tool.fromGradio(app.origin, { egress: LOOPBACK });
    await assert.rejects(tool.call({ prompt: "boom" }), (error: unknown) => {
      assert.ok(error instanceof GradioError);
      assert.equal(error.code, "gradio_error");
      assert.match(error.message, /\/infer failed: CUDA out of memory/);
      return true;
    });
    await assert.rejects(tool.call({ prompt: "silent" }), /\/infer failed: the app reported an error/);
  });

  await t.step("an unknown apiName names the endpoints there are", async () => {
    await assert.rejects(
      Tool.fromGradio(app.origin, { apiName: "/nope", egress: LOOPBACK }),
      /no endpoint \/nope; it has \/infer, \/caption/,
    );
  });

  await t.step("an unknown Space is an error from the Hub lookup", async () => {
    await assert.rejects(
      Tool.fromSpace("nobody/nothing", { hubUrl: app.origin, egress: LOOPBACK }),
      /no running Space nobody\/nothing \(404\)/,
    );
    await assert.rejects(Tool.fromSpace("not a space id"), /is not a Space id/);
  });
});

Deno.test("Gradio calls: the token stays on the app's origin; an abort stops the wait", async (t) => {
  await using files = await startGradioApp({ info: IMAGE_APP_INFO, handlers: {} });
  const elsewhere = files.serveFile("/cdn/out.png", { bytes: PNG, type: "image/png" });
  const release = Promise.withResolvers<void>();
  await using app = await startGradioApp({
    info: IMAGE_APP_INFO,
    handlers: {
      infer: async (data) => {
        if (data[0] === "slow") await release.promise;
        return [elsewhere, 1];
      },
    },
  });
  const tool = await Tool.fromGradio(app.origin, { egress: LOOPBACK, token: "hf_secret" });

  await t.step("an output file on another origin is fetched without the token", async () => {
    const image = await tool.call({ prompt: "a dot" }) as AgentImage;
    assert.deepEqual(await image.bytes(), PNG);
    assert.deepEqual(files.requests.map((r) => [r.path, r.authorization]), [["/gradio_api/file=/cdn/out.png", null]]);
  });

  await t.step("the call's signal aborts the result stream", async () => {
    const controller = new AbortController();
    const pending = tool.call({ prompt: "slow" }, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("step cancelled")), 50);
    await assert.rejects(pending, /step cancelled/);
    release.resolve();
  });
});

Deno.test("Tool.declareSpace: no request until the first call, then one connection per tool", async (t) => {
  await using app = await imageApp();
  const declared = {
    name: "image_generator",
    description: "Generates an image from a prompt.",
    inputs: { prompt: { type: "string" as const, description: "What to draw" } },
    outputType: "image" as const,
    hubUrl: app.origin,
    egress: LOOPBACK,
  };

  await t.step("built without I/O; the first call resolves the Space and reads the API info", async () => {
    const tool = Tool.declareSpace("acme/painter", declared);
    assert.equal(app.requests.length, 0);
    assert.equal(tool.apiName, undefined);
    await assert.rejects(tool.call({ prompt: "a dot" }), /no running Space acme\/painter \(404\)/);
    app.spaces.set("acme/painter", app.origin); // the Space is up now: the failed connection was not kept
    const image = await tool.call({ prompt: "a dot" }) as AgentImage;
    assert.deepEqual(await image.bytes(), PNG);
    assert.equal(tool.apiName, "/infer");
    await tool.call({ prompt: "again" });
    const lookups = app.requests.filter((r) => r.path.endsWith("/host") || r.path.endsWith("/info"));
    assert.equal(lookups.length, 3, "the failed lookup, then one lookup and one info read for two calls");
    assert.deepEqual(app.calls.at(-1)?.data, ["again", 0, true]);
  });

  await t.step("declared inputs are checked against the endpoint at the first call", async () => {
    const wrong = Tool.declareGradio(app.origin, {
      ...declared,
      inputs: { text: { type: "string", description: "x" } },
    });
    await assert.rejects(wrong.call({ text: "x" }), /input 'text' is not a parameter of \/infer/);
    const partial = Tool.declareGradio(app.origin, {
      ...declared,
      inputs: { seed: { type: "number", description: "x" } },
    });
    await assert.rejects(partial.call({ seed: 1 }), /\/infer needs 'prompt', which is not an input/);
  });
});

Deno.test("Tool.fromGradio speaks Gradio 4's API at the root too (/info, /call, /file=)", async () => {
  await using app = await imageApp({ legacy: true });
  const tool = await Tool.fromGradio(`${app.origin}/`, { egress: LOOPBACK });
  const image = await tool.call({ prompt: "a dot" });
  assert.deepEqual(await (image as AgentImage).bytes(), PNG);
  assert.deepEqual(app.requests.map((r) => r.path).slice(0, 3), ["/gradio_api/info", "/info", "/call/infer"]);
});

Deno.test("Tool.fromGradio reads a result event the stream ends in without its blank line", async () => {
  await using app = await imageApp({ unterminatedEnd: true });
  const tool = await Tool.fromGradio(app.origin, { apiName: "caption", egress: LOOPBACK });
  assert.equal(await tool.call({ image: PNG }), `an image of ${PNG.length} bytes (image/png)`);
});

Deno.test("egress: Gradio apps on private addresses are refused without the opt-in", async (t) => {
  await using app = await imageApp();

  await t.step("a loopback app URL", async () => {
    await assert.rejects(Tool.fromGradio(app.origin), EgressError);
    assert.equal(app.requests.length, 0, "nothing was sent");
  });

  await t.step("a Space whose host (from the Hub) is a private address", async () => {
    app.spaces.set("evil/internal", "https://10.0.0.7");
    app.spaces.set("evil/loopback", app.origin);
    const egress = { allowHosts: [app.origin] }; // the Hub stand-in only, not the app hosts it names
    await assert.rejects(Tool.fromSpace("evil/internal", { hubUrl: app.origin, egress }), EgressError);
    await assert.rejects(
      Tool.fromSpace("evil/loopback", {
        hubUrl: `http://localhost:${new URL(app.origin).port}`,
        egress: { allowHosts: [`http://localhost:${new URL(app.origin).port}`] },
      }),
      EgressError,
    );
    assert.ok(!app.requests.some((r) => r.path.endsWith("/info")), "no app was reached");
  });

  await t.step("an output file URL on a private address", async () => {
    await using other = await startGradioApp({
      info: IMAGE_APP_INFO,
      handlers: {
        infer: () => [{ path: "x.png", url: "https://169.254.169.254/x.png", meta: { _type: "gradio.FileData" } }, 1],
      },
    });
    const tool = await Tool.fromGradio(other.origin, { egress: { allowHosts: [other.origin] } });
    await assert.rejects(tool.call({ prompt: "a dot" }), EgressError);
  });
});
