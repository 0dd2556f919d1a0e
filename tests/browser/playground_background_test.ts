/**
 * The playground in Chromium (playwright-core) with a Deno KV store and the Deno KV queue: images and audio a tool
 * returns are stored as the run's blobs and shown inline (fetched with the key in a header, shown through object
 * URLs), and background runs are followed live through `GET /v1/runs/{id}/events` (deltas, steps, the end), also
 * after the page is reloaded and the run reopened by id while it still runs. Screenshots go to
 * tests/browser/screenshots/ (git-ignored). Needs /usr/bin/chromium; skipped with a message when it is missing (a
 * failure on CI).
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { createSmolstep } from "../../lib/server.ts";
import { DenoKvQueue } from "../../lib/adapters/deno/deno_kv_queue.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { CHROMIUM, haveChromium, launchChromium, onCi } from "../support/chromium.ts";
import {
  openPlayground,
  SCREENSHOTS,
  seenDeltas,
  statusIs,
  taskAndProgress,
  watchDeltas,
} from "../support/playground_page.ts";
import { deleteFileTool } from "../support/approval_tools.ts";
import { drawTool, speakTool } from "../support/media_tools.ts";
import { type ReceivedRequest, startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

if (!haveChromium && !onCi) console.warn(`SKIPPED playground background browser test: ${CHROMIUM} is missing.`);

const KEY = "playground-bg-key-456";
const DELTA_TEXT = "drawing it slowly";

/**
 * Opened when the page opens a run's event stream. The first model reply of the "in the background" task waits for it,
 * so that the delta it carries is sent while the page follows the run (however slowly the page gets there under load:
 * deltas are live only, never stored).
 */
let eventStreamOpened = Promise.withResolvers<void>();

/** draw, then speak, then final_answer ("approve": delete_file, then final_answer); "slowly" tasks wait longer. */
async function script(request: ReceivedRequest) {
  const { task, done } = taskAndProgress(request.body.messages ?? []);
  const delayMs = task.includes("slowly") ? 1_200 : task.includes("background") ? 300 : 0;
  if (task.startsWith("in the background") && done === 0) {
    const gaveUp = AbortSignal.timeout(15_000);
    await Promise.race([eventStreamOpened.promise, new Promise((resolve) => gaveUp.onabort = resolve)]);
  }
  if (task.includes("approve")) {
    const reply = done === 0
      ? toolCallReply("delete_file", { path: "/data/old" })
      : toolCallReply("final_answer", { answer: "cleaned" });
    return { ...reply, delayMs };
  }
  const replies = [
    { ...toolCallReply("draw", { subject: "a cat" }), content: `Thought: ${DELTA_TEXT}.` },
    toolCallReply("speak", { text: "meow" }),
    toolCallReply("final_answer", { answer: "A cat, drawn and voiced." }),
  ];
  return { ...replies[Math.min(done, 2)], delayMs };
}

/** The inline image has decoded (non-zero natural size) and the audio element has loaded its metadata. */
async function mediaLoaded(page: Page) {
  // Polled with evaluate: waitForFunction compiles its predicate in the page, which the page's CSP forbids.
  const loaded = `(() => {
    const img = document.querySelector("#log img.media"), audio = document.querySelector("#log audio.media");
    return Boolean(img && img.complete && img.naturalWidth > 0 && audio && audio.readyState >= 1 && audio.duration > 0);
  })()`;
  for (const deadline = Date.now() + 20_000; !(await page.evaluate<boolean>(loaded));) {
    if (Date.now() > deadline) throw new Error(`media not loaded: ${await page.innerHTML("#log")}`.slice(0, 2_000));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return await page.evaluate<{ width: number; height: number; duration: number; srcs: string[] }>(`(() => {
    const img = document.querySelector("#log img.media"), audio = document.querySelector("#log audio.media");
    return { width: img.naturalWidth, height: img.naturalHeight, duration: audio.duration, srcs: [img.src, audio.src] };
  })()`);
}

Deno.test({
  name: `playground media and background runs in Chromium${haveChromium ? "" : ` (SKIPPED: ${CHROMIUM} missing)`}`,
  ignore: !haveChromium && !onCi,
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  await Deno.mkdir(SCREENSHOTS, { recursive: true });
  const model = await startScriptedModelServer();
  model.setHandler(script);
  const deleted: string[] = [];
  const kv = await Deno.openKv(":memory:");
  const queue = new DenoKvQueue(kv);
  const smolstep = createSmolstep({
    agents: {
      artist: new ToolCallingAgent({
        name: "artist",
        model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
        tools: [drawTool, speakTool, deleteFileTool(deleted)],
        maxSteps: 5,
      }),
    },
    store: new DenoKvStore(kv),
    queue,
    secret: "playground-bg-secret-0123456789",
    apiKeys: [KEY],
    // Streams end often, so the page has to reopen them after the last step it saw.
    events: { pollMs: 50, maxDurationMs: 1_000 },
  });
  void queue.listen(smolstep.handleQueueMessage);
  const urls: string[] = [];
  const blobReads: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    urls.push(request.url);
    if (request.url.endsWith("/events")) eventStreamOpened.resolve();
    if (new URL(request.url).pathname.includes("/blobs/")) blobReads.push(request.headers.get("Authorization") ?? "");
    return smolstep.app.fetch(request);
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  const browser = await launchChromium();
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));

  try {
    await openPlayground(page, base, KEY, "artist");

    await t.step("the server's queue adds the background mode", async () => {
      const modes = await page.evaluate<string[]>(`[...document.querySelectorAll("#mode option")].map((o) => o.value)`);
      assert.deepEqual(modes, ["kv", "background", "stateless"]);
    });

    await t.step("a tool's image and audio are shown inline from the run's blobs (KV, auto-run)", async () => {
      await page.selectOption("#mode", "kv");
      await page.fill("#task", "draw and voice a cat");
      await page.click("#start");
      await statusIs(page, "succeeded");
      const media = await mediaLoaded(page);
      assert.deepEqual([media.width, media.height], [4, 3]);
      assert.ok(Math.abs(media.duration - 0.25) < 0.01, `duration ${media.duration}`);
      assert.ok(media.srcs.every((src) => src.startsWith("blob:")), media.srcs.join(" "));
      assert.ok(blobReads.length >= 2 && blobReads.every((auth) => auth === `Bearer ${KEY}`));
      await page.screenshot({ path: `${SCREENSHOTS}playground_media.png`, fullPage: true });
    });

    const eventStreams = () => urls.filter((url) => url.endsWith("/events")).length;
    let backgroundRunId = "";
    await t.step("a background run is followed live: deltas, steps and the end", async () => {
      await watchDeltas(page);
      eventStreamOpened = Promise.withResolvers<void>();
      await page.selectOption("#mode", "background");
      await page.fill("#task", "in the background: draw and voice a cat");
      await page.click("#start");
      await statusIs(page, "succeeded");
      backgroundRunId = (await page.inputValue("#reopen-id")).trim();
      assert.match(await page.textContent("#run-id") ?? "", /background/);
      assert.equal(await page.textContent("#answer-out"), "A cat, drawn and voiced.");
      assert.equal(
        await page.locator("#log .step").count(),
        5,
        "task, draw, speak, final_answer call, answer: once each",
      );
      const seen = await seenDeltas(page);
      assert.ok(seen.some((text) => text.includes(DELTA_TEXT)), "the background step's delta was shown live");
      assert.ok(await page.isDisabled("#step"), "the server steps a background run");
      await mediaLoaded(page);
      await page.screenshot({ path: `${SCREENSHOTS}playground_background.png`, fullPage: true });
    });

    await t.step("a background run reopened by id after a reload is followed to its end", async () => {
      await page.fill("#task", "slowly, in the background: draw and voice a cat");
      await page.click("#start");
      await page.waitForSelector("#run-id:has-text('background')");
      const runId = (await page.inputValue("#reopen-id")).trim();
      assert.notEqual(runId, backgroundRunId);
      await page.reload();
      const streamsBefore = eventStreams();
      await page.fill("#reopen-id", runId);
      await page.click("#reopen");
      await page.waitForSelector("#run-id:has-text('background')");
      assert.equal(await page.getAttribute("#status", "data-status"), "running", "reopened while it still runs");
      await statusIs(page, "succeeded");
      assert.equal(await page.textContent("#answer-out"), "A cat, drawn and voiced.");
      assert.equal(await page.locator("#log .step").count(), 5, "no step twice across reopened streams");
      assert.ok(eventStreams() - streamsBefore >= 2, "the stream was reopened after the server closed it");
      await mediaLoaded(page);
    });

    await t.step("a paused background run is approved on the page, and followed to its end", async () => {
      await page.fill("#task", "approve the cleanup in the background");
      await page.click("#start");
      await statusIs(page, "awaiting_input");
      assert.match(await page.textContent("#pending") ?? "", /delete_file\(/);
      assert.deepEqual(deleted, []);
      await page.click("#approve");
      await statusIs(page, "succeeded");
      assert.deepEqual(deleted, ["/data/old"]);
      assert.equal(await page.textContent("#answer-out"), "cleaned");
      assert.ok(await page.isHidden("#pending"));
    });

    await t.step("a finished background run reopens without following", async () => {
      const before = urls.length;
      await page.fill("#reopen-id", backgroundRunId);
      await page.click("#reopen");
      await statusIs(page, "succeeded");
      await mediaLoaded(page);
      assert.ok(!urls.slice(before).some((url) => url.endsWith("/events")));
    });

    await t.step("mobile width with the background mode and media: nothing overflows sideways", async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
      assert.ok(overflow <= 0, `overflows by ${overflow}px`);
      await page.screenshot({ path: `${SCREENSHOTS}playground_background_mobile.png`, fullPage: true });
    });

    await t.step("the key never appeared in a URL; the page threw nothing", () => {
      assert.ok(urls.every((url) => !url.includes(KEY)));
      assert.deepEqual(pageErrors, []);
    });
  } finally {
    await browser.close();
    await server.shutdown();
    await model.close();
    kv.close();
  }
});
