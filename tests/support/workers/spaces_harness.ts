/**
 * Test worker: proves the hub entry's Gradio client runs inside workerd (fetch, FormData upload, the SSE stream).
 *
 *   GET /                 -> "ready" (readiness probe)
 *   GET /run?app={origin} -> the Space (Hub stand-in and app at `origin`) as a tool: its inputs, an image call, an
 *                            upload call, a failing call, and a declared tool (connecting at its first call)
 */

import { AgentImage } from "../../../lib/mod.ts";
import { Tool } from "../../../lib/hub/mod.ts";

/** A 1x1 PNG. */
const PNG = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="),
  (c) => c.charCodeAt(0),
);

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const app = url.searchParams.get("app");
    if (url.pathname !== "/run" || !app) return new Response("ready");
    try {
      const options = { hubUrl: app, egress: { allowPrivateNetwork: true } };
      const generator = await Tool.fromSpace("black-forest-labs/FLUX.1-schnell", options);
      const image = await generator.call({ prompt: "a dot" }) as AgentImage;
      const captioner = await Tool.fromSpace("black-forest-labs/FLUX.1-schnell", { ...options, apiName: "/caption" });
      const caption = await captioner.call({ image: PNG });
      const failure = await generator.call({ prompt: "boom" }).then(() => "no error", (error) => String(error));
      const refused = await Tool.fromSpace("black-forest-labs/FLUX.1-schnell", { hubUrl: app }).then(
        () => "not refused",
        (error) => (error as Error).name,
      );
      const declared = Tool.declareSpace("black-forest-labs/FLUX.1-schnell", {
        ...options,
        name: "painter",
        description: "Draws.",
        inputs: { prompt: { type: "string", description: "What to draw" } },
      });
      const drawn = await declared.call({ prompt: "a dot" }) as AgentImage;
      return Response.json({
        declared: drawn instanceof AgentImage ? drawn.mimeType : null,
        inputs: Object.keys(generator.inputs),
        image: image instanceof AgentImage ? { size: (await image.bytes()).length, type: image.mimeType } : null,
        caption,
        failure,
        refused,
      });
    } catch (error) {
      return Response.json({ error: String((error as Error).stack ?? error) }, { status: 500 });
    }
  },
};
