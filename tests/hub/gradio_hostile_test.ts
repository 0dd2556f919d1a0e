// A hostile Gradio app on a real loopback server, speaking Gradio 5's documented HTTP API: its API info, its call
// answer or its result stream never end. The host must stop reading at MAX_GRADIO_ANSWER_BYTES, not buffer until
// the process runs out of memory (the stream would otherwise go on for the whole tool time limit).
import assert from "node:assert/strict";
import { GradioError, Tool } from "../../lib/hub/mod.ts";
import { MAX_GRADIO_ANSWER_BYTES } from "../../lib/hub/gradio_client.ts";
import { downloadSpaceFile, MAX_HUB_ANSWER_BYTES } from "../../lib/hub/hub_http.ts";
import { BodyTooLargeError } from "../../lib/net/read_body.ts";

const LOOPBACK = { allowPrivateNetwork: true };
/** What the app gives up after, so that a host without a cap ends too (and the test can fail rather than hang). */
const APP_GIVES_UP_AFTER = 4 * MAX_GRADIO_ANSWER_BYTES;

const INFO = {
  named_endpoints: {
    "/predict": {
      parameters: [{ label: "Text", parameter_name: "text", type: { type: "string" }, component: "Textbox" }],
      returns: [{ label: "Output", type: { type: "string" }, component: "Textbox" }],
    },
  },
  unnamed_endpoints: {},
};

type Hostility = "info" | "call" | "stream" | "lines" | "error" | "hub";

/** A body of `prefix` followed by `filler` forever (until APP_GIVES_UP_AFTER); counts what it sent. */
function endless(prefix: string, filler: string, sent: { bytes: number }): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode(filler.repeat(Math.ceil(65_536 / filler.length)));
  let first = true;
  return new ReadableStream({
    pull(controller) {
      if (sent.bytes > APP_GIVES_UP_AFTER) return controller.close();
      const bytes = first ? new TextEncoder().encode(prefix) : chunk;
      first = false;
      sent.bytes += bytes.byteLength;
      controller.enqueue(bytes);
    },
  }, { highWaterMark: 0 });
}

function startHostileApp(hostility: Hostility) {
  const sent = { bytes: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const path = new URL(request.url).pathname;
    const json = { "content-type": "application/json" };
    if (path === "/gradio_api/info") {
      return hostility === "info"
        ? new Response(endless('{"named_endpoints": {"/x": "', "A", sent), { headers: json })
        : Response.json(INFO);
    }
    if (path === "/api/spaces/owner/space/host") {
      return new Response(endless('{"host": "', "h", sent), { headers: json });
    }
    if (path === "/spaces/owner/tool/resolve/main/tool.js") {
      return new Response(endless("export default ", "1", sent), { headers: { "content-type": "text/javascript" } });
    }
    if (path === "/gradio_api/call/predict" && hostility === "error") {
      return new Response(endless("Internal error: ", "E", sent), { status: 500 });
    }
    if (path === "/gradio_api/call/predict") {
      return hostility === "call"
        ? new Response(endless('{"event_id": "', "e", sent), { headers: json })
        : Response.json({ event_id: "e1" });
    }
    if (path === "/gradio_api/call/predict/e1") {
      const body = hostility === "stream"
        ? endless("event: generating\ndata: ", "A", sent) // one data line that never ends
        : endless("", "event: heartbeat\ndata: null\n\n", sent); // heartbeats, as fast as the host reads
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    }
    return new Response("no such route", { status: 404 });
  });
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    sent,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("attack: a Gradio app whose answers never end is read to MAX_GRADIO_ANSWER_BYTES, no further", async (t) => {
  await t.step("endless API info: Tool.fromGradio is refused", async () => {
    await using app = startHostileApp("info");
    const error = await Tool.fromGradio(app.origin, { egress: LOOPBACK }).catch((e) => e);
    assert.ok(error instanceof GradioError, String(error));
    assert.match(error.message, /the API info of .* holds more than 16777216 bytes/);
    assert.ok(app.sent.bytes < 2 * MAX_GRADIO_ANSWER_BYTES, `${app.sent.bytes} bytes sent`);
  });

  for (
    const [hostility, what] of [
      ["call", "calling /predict"],
      ["stream", "the result stream of /predict"],
      ["lines", "the result stream of /predict"],
    ] as const
  ) {
    await t.step(`endless ${hostility === "call" ? "call answer" : `result stream (${hostility})`}`, async () => {
      await using app = startHostileApp(hostility);
      const tool = await Tool.fromGradio(app.origin, { egress: LOOPBACK });
      const error = await tool.call({ text: "hi" }).catch((e) => e);
      assert.ok(error instanceof GradioError, String(error));
      assert.equal(error.message, `${what} holds more than ${MAX_GRADIO_ANSWER_BYTES} bytes`);
      assert.ok(app.sent.bytes < 2 * MAX_GRADIO_ANSWER_BYTES, `${app.sent.bytes} bytes sent`);
    });
  }

  await t.step("an error status with an endless body: its start is quoted, the rest never read", async () => {
    await using app = startHostileApp("error");
    const tool = await Tool.fromGradio(app.origin, { egress: LOOPBACK });
    const error = await tool.call({ text: "hi" }).catch((e) => e);
    assert.ok(error instanceof GradioError, String(error));
    assert.ok(error.message.startsWith("calling /predict answered 500: Internal error: EEE"), error.message);
    assert.ok(error.message.length < 1_000, `${error.message.length} characters`);
    assert.ok(app.sent.bytes < 2 * MAX_GRADIO_ANSWER_BYTES, `${app.sent.bytes} bytes sent`);
  });

  await t.step("the Hub: an endless Space host answer or tool file is refused at MAX_HUB_ANSWER_BYTES", async () => {
    await using app = startHostileApp("hub");
    const error = await Tool.fromSpace("owner/space", { hubUrl: app.origin, egress: LOOPBACK }).catch((e) => e);
    assert.ok(error instanceof BodyTooLargeError, String(error));
    assert.ok(app.sent.bytes < 2 * MAX_HUB_ANSWER_BYTES, `${app.sent.bytes} bytes sent`);
    app.sent.bytes = 0;
    const file = await downloadSpaceFile("owner/tool", "tool.js", { hubUrl: app.origin, egress: LOOPBACK })
      .catch((e) => e);
    assert.ok(file instanceof BodyTooLargeError, String(file));
    assert.ok(app.sent.bytes < 2 * MAX_HUB_ANSWER_BYTES, `${app.sent.bytes} bytes sent`);
  });
});
