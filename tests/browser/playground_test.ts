/**
 * The playground page (GET /) and a tool demo page (GET /tools/{name}) in a real Chromium (playwright-core), against
 * the example `assistant` agent (functions/agents.ts) on the scripted model server, plus an agent with a tool that
 * needs approval. Screenshots go to tests/browser/screenshots/ (git-ignored).
 *
 * The page asks step requests for `text/event-stream`; the app streams the model's deltas (`event: delta`...) and then
 * `event: step` with the JSON body, and the test watches the page's live area show a delta's text while a step runs.
 * Needs /usr/bin/chromium (Debian `chromium`); skipped with a message when it is missing (a failure on CI).
 */
import assert from "node:assert/strict";
import { OpenAIServerModel, ToolCallingAgent, UserInputTool } from "../../lib/mod.ts";
import { createSmolstep } from "../../lib/server.ts";
import { createDenoQuickJSExecutor } from "../../lib/adapters/deno/quickjs_wasm_deno.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { createAgents } from "../../functions/agents.ts";
import { deleteFileTool } from "../support/approval_tools.ts";
import { CHROMIUM, haveChromium, launchChromium, onCi } from "../support/chromium.ts";
import {
  openPlayground,
  SCREENSHOTS,
  seenDeltas,
  statusIs,
  taskAndProgress,
  watchDeltas,
} from "../support/playground_page.ts";
import { type ReceivedRequest, startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

if (!haveChromium && !onCi) console.warn(`SKIPPED playground browser test: ${CHROMIUM} is missing.`);

const KEY = "playground-key-123";
const DELTA_TEXT = "thinking about it";

/** calculator then final_answer for the assistant; delete_file (needs approval) then final_answer for ops. */
function script(request: ReceivedRequest) {
  const { task, done } = taskAndProgress(request.body.messages ?? []);
  if (task.includes("in code")) {
    return {
      content: 'Thought: multiply.\n<code>\n// six sevens\nconst x = 6 * 7;\nfinal_answer("code says " + x);\n</code>',
    };
  }
  if (task.includes("ask me")) {
    return done === 0
      ? toolCallReply("user_input", { question: "Which file?" })
      : toolCallReply("final_answer", { answer: "noted" });
  }
  if (task.includes("approve")) {
    return done === 0 ? toolCallReply("delete_file", { path: "/data/report" }) : toolCallReply("final_answer", {
      answer: "deleted",
    });
  }
  return done === 0
    ? { ...toolCallReply("calculator", { expression: "6 * 7" }), content: `Thought: ${DELTA_TEXT}.` }
    : toolCallReply("final_answer", { answer: "The answer is 42" });
}

Deno.test({
  name: `playground in Chromium${haveChromium ? "" : ` (SKIPPED: ${CHROMIUM} missing)`}`,
  ignore: !haveChromium && !onCi,
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  await Deno.mkdir(SCREENSHOTS, { recursive: true });
  const model = await startScriptedModelServer();
  model.setHandler(script);
  const deleted: string[] = [];
  const agents = createAgents({ OPENAI_BASE_URL: model.url, OPENAI_API_KEY: "k" }, {
    executor: createDenoQuickJSExecutor(),
  });
  agents.ops = new ToolCallingAgent({
    name: "ops",
    model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
    tools: [deleteFileTool(deleted), new UserInputTool()],
    maxSteps: 5,
  });
  const kv = await Deno.openKv(":memory:");
  const smolstep = createSmolstep({
    agents,
    store: new DenoKvStore(kv),
    secret: "playground-secret-0123456789",
    apiKeys: [KEY],
  });
  const urls: string[] = [];
  let streamed = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    urls.push(request.url);
    // Stateless steps are answered as a server without streaming would (Accept: JSON only), so the page is shown to
    // handle both answers; KV steps stream.
    const stateless = /^\/v1\/agents\/[^/]+\/(steps|input)$/.test(new URL(request.url).pathname);
    const headers = new Headers(request.headers);
    if (stateless) headers.set("Accept", "application/json");
    const response = await smolstep.app.fetch(stateless ? new Request(request, { headers }) : request);
    if (response.headers.get("Content-Type")?.startsWith("text/event-stream")) streamed++;
    return response;
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  const browser = await launchChromium();
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  let firstRunId = "";

  try {
    await t.step("the page loads from the app alone and lists the agents once the key is entered", async () => {
      await openPlayground(page, base, KEY, "assistant");
      const modes = await page.evaluate<string[]>(`[...document.querySelectorAll("#mode option")].map((o) => o.value)`);
      assert.deepEqual(modes, ["kv", "stateless"]);
    });

    await t.step("the example assistant runs to its final answer (KV, auto-run), deltas shown live", async () => {
      // Records every text the live delta area shows.
      await watchDeltas(page);
      await page.selectOption("#agent", "assistant");
      await page.selectOption("#mode", "kv");
      await page.fill("#task", "What is 6 times 7?");
      await page.click("#start");
      await statusIs(page, "succeeded");
      assert.equal(await page.textContent("#answer-out"), "The answer is 42");
      const log = await page.textContent("#log") ?? "";
      assert.match(log, /calculator\(/);
      assert.match(log, /6 \* 7/);
      assert.match(log, /42/); // the observation
      assert.match(log, /in \/ \d+ out tokens/); // token usage per step
      assert.match(log, /\d+ ms/); // timing per step
      const seen = await seenDeltas(page);
      assert.ok(seen.some((text) => text.includes(DELTA_TEXT)), "the delta was shown while the step ran");
      assert.ok(streamed >= 2);
      firstRunId = (await page.inputValue("#reopen-id")).trim();
      assert.ok(firstRunId);
      await page.screenshot({ path: `${SCREENSHOTS}playground_final_answer.png`, fullPage: true });
    });

    await t.step("one step at a time in stateless mode (plain JSON answers)", async () => {
      const before = streamed;
      await page.uncheck("#auto");
      await page.selectOption("#mode", "stateless");
      await page.fill("#task", "Once more: 6 times 7?");
      await page.click("#start");
      await statusIs(page, "running");
      assert.equal(await page.locator("#log .step").count(), 0);
      await page.click("#step");
      await page.waitForSelector("#log .step");
      await page.waitForSelector("#step:not([disabled])");
      await page.click("#step");
      await statusIs(page, "succeeded");
      assert.equal(await page.textContent("#answer-out"), "The answer is 42");
      assert.equal(streamed, before);
      await page.check("#auto");
    });

    await t.step("a paused tool call is approved with a button", async () => {
      await page.selectOption("#agent", "ops");
      await page.selectOption("#mode", "kv");
      await page.fill("#task", "please approve the cleanup");
      await page.click("#start");
      await statusIs(page, "awaiting_input");
      assert.match(await page.textContent("#pending") ?? "", /delete_file\(/);
      assert.deepEqual(deleted, []);
      await page.screenshot({ path: `${SCREENSHOTS}playground_approval.png`, fullPage: true });
      await page.click("#approve");
      await statusIs(page, "succeeded");
      assert.deepEqual(deleted, ["/data/report"]);
      assert.equal(await page.textContent("#answer-out"), "deleted");
    });

    await t.step("the agent's question is answered in a field", async () => {
      await page.fill("#task", "ask me which file");
      await page.click("#start");
      await statusIs(page, "awaiting_input");
      assert.match(await page.textContent("#pending") ?? "", /Which file\?/);
      await page.fill("#answer", "notes.txt");
      await page.click("#send-answer");
      await statusIs(page, "succeeded");
      assert.match(await page.textContent("#log") ?? "", /notes\.txt/);
      assert.equal(await page.textContent("#answer-out"), "noted");
    });

    await t.step("a CodeAgent's code is shown highlighted", async () => {
      await page.selectOption("#agent", "coder");
      await page.fill("#task", "multiply in code");
      await page.click("#start");
      // The first sandbox thread starts here (under `deno test` it type-checks its module first: seconds on a busy
      // machine).
      await statusIs(page, "succeeded", 60_000);
      assert.equal(await page.textContent("#answer-out"), "code says 42");
      assert.equal(await page.textContent("#log pre.code .com"), "// six sevens");
      assert.equal(await page.textContent("#log pre.code .kw"), "const");
      assert.equal(await page.textContent("#log pre.code .str"), '"code says "');
      await page.screenshot({ path: `${SCREENSHOTS}playground_code.png`, fullPage: true });
    });

    await t.step("a run is reopened by id after a reload (the key stays in the tab, not the URL)", async () => {
      await page.reload();
      assert.equal(await page.inputValue("#key"), KEY);
      await page.fill("#reopen-id", firstRunId);
      await page.click("#reopen");
      await statusIs(page, "succeeded");
      assert.match(await page.textContent("#run-id") ?? "", new RegExp(firstRunId));
      assert.match(await page.textContent("#log") ?? "", /calculator\(/);
      assert.equal(await page.textContent("#answer-out"), "The answer is 42");
    });

    await t.step("a running KV run is cancelled", async () => {
      await page.uncheck("#auto");
      await page.selectOption("#agent", "assistant");
      await page.fill("#task", "cancel me");
      await page.click("#start");
      await statusIs(page, "running");
      await page.click("#cancel");
      await statusIs(page, "cancelled");
      await page.check("#auto");
    });

    await t.step("mobile width: nothing overflows sideways", async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
      assert.ok(overflow <= 0, `overflows by ${overflow}px`);
      await page.screenshot({ path: `${SCREENSHOTS}playground_mobile.png`, fullPage: true });
      await page.setViewportSize({ width: 1280, height: 800 });
    });

    await t.step("a tool demo form runs the tool through POST /v1/tools/{name}", async () => {
      await page.goto(`${base}/tools/calculator?agent=assistant`);
      await page.waitForSelector('textarea[name="expression"]');
      await page.fill('textarea[name="expression"]', "(2 + 3) * 4");
      await page.click("#tool-submit");
      await page.waitForSelector("#tool-out pre");
      assert.equal(await page.textContent("#tool-out pre"), "20");
      await page.screenshot({ path: `${SCREENSHOTS}tool_demo_calculator.png`, fullPage: true });
    });

    await t.step("the key never appeared in a URL; the page threw nothing", () => {
      assert.ok(urls.length > 10);
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
