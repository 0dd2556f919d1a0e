// visit_webpage and web_search against hostile pages from a real loopback server: pages built to make the HTML-to-Markdown
// converter work for minutes (it is quadratic in elements and nesting, and synchronous on the host's event loop),
// bodies that never end, bodies that trickle forever. The host must keep serving other work meanwhile.
import assert from "node:assert/strict";
import { htmlChunks } from "../../lib/tools/web/html_chunks.ts";
import { loadHtmlToMarkdown, VisitWebpageTool } from "../../lib/tools/web/visit_webpage_tool.ts";
import { WebSearchTool } from "../../lib/tools/web/web_search_tool.ts";

const LOOPBACK = { allowPrivateNetwork: true };
const encoder = new TextEncoder();

const PAGES: Record<string, string> = {
  // ~2 MB of ordinary paragraphs: converted whole, about 2 minutes of one blocked thread.
  "/paragraphs": "<p>Some <b>bold</b> text</p>\n".repeat(70_000),
  // 100,000 nested elements: converted whole, hours.
  "/nested": `${"<div>".repeat(100_000)}deep text${"</div>".repeat(100_000)}`,
  // Elements that never close, each one deeper.
  "/unclosed": "<div><span>x".repeat(100_000),
  // A DuckDuckGo result page of tags that never close: quadratic for `<div[^>]+class=` regular expressions.
  "/html/": "<div ".repeat(100_000),
};

function startHostileServer() {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/endless") {
      const chunk = encoder.encode("<p>more</p>".repeat(10_000));
      return new Response(new ReadableStream({ pull: (controller) => controller.enqueue(chunk) }), {
        headers: { "content-type": "text/html" },
      });
    }
    if (path === "/trickle") {
      let timer: ReturnType<typeof setInterval> | undefined;
      const body = new ReadableStream({
        start(controller) {
          timer = setInterval(() => controller.enqueue(encoder.encode("<p>drip</p>")), 20);
        },
        cancel: () => clearInterval(timer),
      });
      request.signal.addEventListener("abort", () => clearInterval(timer));
      return new Response(body, { headers: { "content-type": "text/html" } });
    }
    const page = PAGES[path];
    return page === undefined
      ? new Response("no such page", { status: 404 })
      : new Response(page, { headers: { "content-type": "text/html" } });
  });
  return { origin: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

/** The longest time the event loop went without running a 10 ms interval while `work` ran. */
async function longestStall<T>(work: () => Promise<T>): Promise<{ result: T; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const interval = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 10);
  try {
    const result = await work();
    stallMs = Math.max(stallMs, performance.now() - last);
    return { result, stallMs };
  } finally {
    clearInterval(interval);
  }
}

// Converted whole, each of these pages holds the thread for minutes; in pieces, a few milliseconds each. 2 s is
// far above a piece even on a loaded machine, and far below what the attack takes.
const MAX_STALL_MS = 2_000;

Deno.test("attack: pages that make the HTML-to-Markdown converter work for minutes never stall the host", async (t) => {
  const server = startHostileServer();
  try {
    await t.step(
      "2 MB of paragraphs: the Markdown is cut at maxOutputLength, the event loop keeps running",
      async () => {
        const visit = new VisitWebpageTool({ egress: LOOPBACK });
        const { result, stallMs } = await longestStall(() => visit.call({ url: `${server.origin}/paragraphs` }));
        assert.ok(stallMs < MAX_STALL_MS, `the event loop stalled ${Math.round(stallMs)} ms`);
        assert.match(result, /^Some \*\*bold\*\* text\n\nSome \*\*bold\*\* text\n\n/);
        assert.ok(result.endsWith("\n..._This content has been truncated to stay below 40000 characters_...\n"));
      },
    );

    await t.step("100,000 nested elements: their text comes back, the event loop keeps running", async () => {
      const visit = new VisitWebpageTool({ egress: LOOPBACK });
      const { result, stallMs } = await longestStall(() => visit.call({ url: `${server.origin}/nested` }));
      assert.ok(stallMs < MAX_STALL_MS, `the event loop stalled ${Math.round(stallMs)} ms`);
      assert.equal(result, "deep text");
    });

    await t.step("200,000 elements never closed", async () => {
      const visit = new VisitWebpageTool({ egress: LOOPBACK });
      const { result, stallMs } = await longestStall(() => visit.call({ url: `${server.origin}/unclosed` }));
      assert.ok(stallMs < MAX_STALL_MS, `the event loop stalled ${Math.round(stallMs)} ms`);
      assert.match(result, /^x\nx\nx/);
    });

    await t.step("a body that never ends is cut at 5 MB, as text the model reads", async () => {
      const visit = new VisitWebpageTool({ egress: LOOPBACK });
      assert.match(
        await visit.call({ url: `${server.origin}/endless` }),
        /^An unexpected error occurred: the response body holds more than 5000000 bytes/,
      );
    });

    await t.step("a body that trickles forever ends at the request's time limit", async () => {
      const visit = new VisitWebpageTool({ egress: LOOPBACK, requestTimeoutMs: 300 });
      assert.equal(
        await visit.call({ url: `${server.origin}/trickle` }),
        "The request timed out. Please try again later or check the URL.",
      );
    });
  } finally {
    await server.close();
  }
});

Deno.test("htmlChunks: well-formed pieces, nesting capped, text kept, small pages untouched", async () => {
  const article = await Deno.readTextFile(new URL("../support/web_fixtures/article.html", import.meta.url));
  assert.equal([...htmlChunks(article)].length, 1, "a page under one piece is one piece");
  const convert = await loadHtmlToMarkdown();
  assert.equal(convert([...htmlChunks(article)][0]), convert(article), "and converts as the page itself");

  const pieces = [...htmlChunks("<ul><li>one<li>two</ul><p>a <b>b</b></p>", { chunkChars: 8 })];
  assert.deepEqual(pieces, ["<ul><li>one</li></ul>", "<ul><li>two</li></ul>", "<p>a <b>b</b></p>"]);

  const deep = [...htmlChunks(`${"<i>".repeat(5)}x${"</i>".repeat(5)}`, { maxDepth: 2 })].join("");
  assert.equal(deep, "<i><i>x</i></i>");

  const dropped = [
    ...htmlChunks("<!doctype html><!-- c --><script>if (a<b) x()</script><style>p{}</style>t</x><br/><p>u"),
  ];
  assert.deepEqual(dropped, ["t<br/><p>u</p>"]);
  assert.deepEqual([...htmlChunks("a < b, 1<2 and <3")], ["a &lt; b, 1&lt;2 and &lt;3"]);
});

Deno.test("attack: a search result page of unclosed tags is parsed in linear time", async () => {
  const server = startHostileServer();
  try {
    const search = new WebSearchTool({ baseUrl: server.origin, egress: LOOPBACK });
    const { result, stallMs } = await longestStall(() => search.call({ query: "anything" }).catch((e) => e));
    assert.ok(stallMs < MAX_STALL_MS, `the event loop stalled ${Math.round(stallMs)} ms`);
    assert.match(String(result), /No results found/, "no result: every block lacks a closed title");
  } finally {
    await server.close();
  }
});
