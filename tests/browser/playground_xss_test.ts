/**
 * Attack: hostile model output shown in the playground (GET /) in a real Chromium. The scripted model writes HTML
 * and script into everything the page shows from a run: its thought, its code (comments, strings, code itself), a
 * tool call's arguments, an error, the final answer. The page must show all of it as text: no element is created
 * from it and nothing runs. The check is on the DOM, not only on a flag set by a script, since the page's CSP would
 * stop an inline handler even if the markup got in.
 */
import assert from "node:assert/strict";
import { CodeAgent, OpenAIServerModel } from "../../lib/mod.ts";
import { createSmolstep } from "../../lib/server.ts";
import { createDenoQuickJSExecutor } from "../../lib/adapters/deno/quickjs_wasm_deno.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { CHROMIUM, haveChromium, launchChromium, onCi } from "../support/chromium.ts";
import { openPlayground, statusIs } from "../support/playground_page.ts";
import { type ReceivedRequest, startScriptedModelServer } from "../support/scripted_model_server.ts";

const KEY = "playground-xss-key-123";
const IMG = `<img id="xss-img" src="x" onerror="globalThis.xss = 1">`;
const SCRIPT = `<script id="xss-script">globalThis.xss = 2</script>`;
const CLOSE = `</pre></div>${IMG}<svg id="xss-svg" onload="globalThis.xss = 3"></svg>`;

let calls = 0;
function script(_request: ReceivedRequest) {
  if (calls++ === 0) {
    // A step whose code fails, quoting the markup in its error.
    return {
      content: `Thought: ${CLOSE}\n<code>\n// ${CLOSE}\nthrow new Error(${JSON.stringify(IMG + SCRIPT)});\n</code>`,
    };
  }
  return {
    content: `Thought: ${SCRIPT}\n<code>\nprint(${JSON.stringify(CLOSE)});\nconst s = ${JSON.stringify(`"${IMG}`)};\n` +
      `final_answer(${JSON.stringify(`${IMG}${SCRIPT}${CLOSE}`)});\n</code>`,
  };
}

Deno.test({
  name: `attack: hostile model output in the playground is text${
    haveChromium ? "" : ` (SKIPPED: ${CHROMIUM} missing)`
  }`,
  ignore: !haveChromium && !onCi,
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const model = await startScriptedModelServer();
  model.setHandler(script);
  const openai = new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 });
  const agents = { coder: new CodeAgent({ name: "coder", model: openai, executor: createDenoQuickJSExecutor() }) };
  const kv = await Deno.openKv(":memory:");
  const smolstep = createSmolstep({
    agents,
    store: new DenoKvStore(kv),
    secret: "xss-secret-0123456789",
    apiKeys: [KEY],
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const browser = await launchChromium();
  const page = await browser.newPage();
  try {
    await openPlayground(page, base, KEY, "coder");
    await page.selectOption("#agent", "coder");
    await page.selectOption("#mode", "kv");
    await page.fill("#task", "say hello");
    await page.click("#start");
    await statusIs(page, "succeeded");
    assert.equal(await page.textContent("#answer-out"), `${IMG}${SCRIPT}${CLOSE}`, "the answer shown as text");
    const log = await page.textContent("#log") ?? "";
    for (const shown of [CLOSE, IMG, SCRIPT]) assert.ok(log.includes(shown), `the log shows ${shown} as text`);
    const injected = await page.evaluate<number>(
      `document.querySelectorAll("#xss-img, #xss-script, #xss-svg, [onerror], [onload]").length`,
    );
    assert.equal(injected, 0, "no element made from model output");
    assert.equal(await page.evaluate("globalThis.xss"), undefined, "nothing ran");
  } finally {
    await browser.close();
    await server.shutdown();
    kv.close();
    await model.close();
  }
});
