// The default tools (`addBaseTools`) against a loopback server speaking each service's documented shapes; no test
// reaches DuckDuckGo, Brave, Serper, Tavily or Wikipedia.
import assert from "node:assert/strict";
import { EgressError } from "../../lib/net/egress.ts";
import { CodeAgent } from "../../lib/agents/code_agent.ts";
import { ToolCallingAgent } from "../../lib/agents/tool_calling_agent.ts";
import { createDenoQuickJSExecutor } from "../../lib/adapters/deno/quickjs_wasm_deno.ts";
import { tool } from "../../lib/tools/tool.ts";
import { baseTools } from "../../lib/tools/web/base_tools.ts";
import { parseDuckDuckGoHtml } from "../../lib/tools/web/duckduckgo_search.ts";
import { decodeEntities } from "../../lib/tools/web/html_text.ts";
import { VisitWebpageTool } from "../../lib/tools/web/visit_webpage_tool.ts";
import { WebSearchTool } from "../../lib/tools/web/web_search_tool.ts";
import { WikipediaSearchTool } from "../../lib/tools/web/wikipedia_search_tool.ts";
import { functionModel } from "../support/function_model.ts";
import { startWebFixtureServer } from "../support/web_fixture_server.ts";
import { z } from "zod";

const LOOPBACK = { allowPrivateNetwork: true };

Deno.test("web_search", async (t) => {
  const server = await startWebFixtureServer();
  try {
    await t.step(
      "DuckDuckGo's HTML page: organic results in smolagents' format, ads skipped, links unwrapped",
      async () => {
        const search = new WebSearchTool({ baseUrl: server.origin, egress: LOOPBACK });
        const text = await search.call({ query: "smolagents" });
        assert.equal(
          text,
          "## Search Results\n\n" +
            "[GitHub - huggingface/smolagents: a barebones library for agents](https://github.com/huggingface/smolagents)\n" +
            "smolagents is a library that enables you to run powerful agents in a few lines of code — it's simple.\n\n" +
            "[smolagents & the Hugging Face docs](https://huggingface.co/docs/smolagents/index)\nAgents that think in code.",
        );
        const request = server.requests.at(-1)!;
        assert.equal(request.url.pathname, "/html/");
        assert.equal(request.url.searchParams.get("q"), "smolagents");
      },
    );

    await t.step("maxResults cuts the list", async () => {
      const search = new WebSearchTool({ baseUrl: server.origin, egress: LOOPBACK, maxResults: 1 });
      assert.equal((await search.call({ query: "smolagents" })).split("\n\n").length, 2);
    });

    await t.step("no results throws so the model tries another query (smolagents' message)", async () => {
      const search = new WebSearchTool({ baseUrl: server.origin, egress: LOOPBACK });
      await assert.rejects(search.call({ query: "nothing at all" }), /No results found! Try a less restrictive/);
    });

    await t.step("Brave: GET with X-Subscription-Token and count", async () => {
      const search = new WebSearchTool({
        provider: "brave",
        apiKey: "brave-key",
        baseUrl: `${server.origin}/brave`,
        egress: LOOPBACK,
        maxResults: 5,
      });
      assert.equal(
        await search.call({ query: "edge agents" }),
        "## Search Results\n\n[Brave result](https://brave.example/one)\nThe <strong>first</strong>.\n\n" +
          "[Second](https://brave.example/two)\nAnother.",
      );
      const request = server.requests.at(-1)!;
      assert.equal(request.url.searchParams.get("q"), "edge agents");
      assert.equal(request.url.searchParams.get("count"), "5");
    });

    await t.step("Serper: POST {q, num} with X-API-KEY", async () => {
      const search = new WebSearchTool({
        provider: "serper",
        apiKey: "serper-key",
        baseUrl: `${server.origin}/serper`,
        egress: LOOPBACK,
      });
      assert.equal(
        await search.call({ query: "edge" }),
        "## Search Results\n\n[Serper result](https://serper.example/)\nFrom Google.",
      );
      assert.deepEqual(JSON.parse(server.requests.at(-1)!.body), { q: "edge", num: 10 });
    });

    await t.step("Tavily: POST {query, max_results} with a bearer key", async () => {
      const search = new WebSearchTool({
        provider: "tavily",
        apiKey: "tvly-key",
        baseUrl: `${server.origin}/tavily`,
        egress: LOOPBACK,
      });
      assert.equal(
        await search.call({ query: "edge" }),
        "## Search Results\n\n[Tavily result](https://tavily.example/)\nFound it.",
      );
      assert.deepEqual(JSON.parse(server.requests.at(-1)!.body), { query: "edge", max_results: 10 });
    });

    await t.step("a wrong key is an error naming the status", async () => {
      const search = new WebSearchTool({
        provider: "brave",
        apiKey: "wrong",
        baseUrl: `${server.origin}/brave`,
        egress: LOOPBACK,
      });
      await assert.rejects(search.call({ query: "x" }), /401/);
    });

    await t.step("a keyed provider without a key is refused when built", () => {
      assert.throws(() => new WebSearchTool({ provider: "tavily" }), /needs an apiKey/);
    });

    await t.step("the egress guard: loopback refused without the opt-in", async () => {
      const search = new WebSearchTool({ baseUrl: server.origin });
      await assert.rejects(search.call({ query: "x" }), EgressError);
    });

    await t.step("the call's signal aborts the request", async () => {
      const search = new WebSearchTool({ baseUrl: server.origin, egress: LOOPBACK });
      const controller = new AbortController();
      controller.abort(new Error("cancelled"));
      await assert.rejects(search.call({ query: "x" }, { signal: controller.signal }), /cancelled/);
    });
  } finally {
    await server.close();
  }
});

Deno.test("parseDuckDuckGoHtml reads a result page without results as none", () => {
  assert.deepEqual(parseDuckDuckGoHtml("<html><body><div class='no-results'></div></body></html>"), []);
});

Deno.test("visit_webpage", async (t) => {
  const server = await startWebFixtureServer();
  try {
    await t.step(
      "a page as Markdown: scripts and styles dropped, references decoded, blank lines collapsed",
      async () => {
        const visit = new VisitWebpageTool({ egress: LOOPBACK });
        const text = await visit.call({ url: `${server.origin}/page` });
        assert.match(text, /^# Agents & the edge/);
        assert.match(text, /\*\*invocation\*\*/);
        assert.match(text, /\[state between steps\]\(https:\/\/example\.com\/steps\?a=1&b=2\) — that’s all\./);
        assert.match(text, /\* Deno\n\* Workers/);
        assert.match(text, /```js\nconst ok = 1 < 2;\n```/);
        assert.match(text, /\|Runtime\|Sandbox\|\n\|---\|---\|\n\|Deno\|threads\|/);
        assert.ok(!text.includes("secret") && !text.includes("color: red"), text);
        assert.ok(!/\n{3,}/.test(text));
      },
    );

    await t.step("cut at maxOutputLength with smolagents' note (default 40,000)", async () => {
      const visit = new VisitWebpageTool({ egress: LOOPBACK });
      assert.equal(visit.maxOutputLength, 40_000);
      const text = await visit.call({ url: `${server.origin}/long` });
      assert.ok(text.startsWith("word word"));
      assert.ok(text.endsWith("\n..._This content has been truncated to stay below 40000 characters_...\n"));
      assert.equal(
        text.length,
        40_000 + "\n..._This content has been truncated to stay below 40000 characters_...\n".length,
      );
      const short = new VisitWebpageTool({ egress: LOOPBACK, maxOutputLength: 10 });
      assert.match(await short.call({ url: `${server.origin}/long` }), /^word word \n\.\.\._This content/);
    });

    await t.step("a page in the charset its Content-Type names", async () => {
      const visit = new VisitWebpageTool({ egress: LOOPBACK });
      assert.equal(await visit.call({ url: `${server.origin}/latin1` }), "café");
    });

    await t.step("errors come back as text, as smolagents", async () => {
      const visit = new VisitWebpageTool({ egress: LOOPBACK });
      assert.equal(
        await visit.call({ url: `${server.origin}/missing` }),
        `Error fetching the webpage: 404 Not Found for url: ${server.origin}/missing`,
      );
      const slow = new VisitWebpageTool({ egress: LOOPBACK, requestTimeoutMs: 50 });
      assert.equal(
        await slow.call({ url: `${server.origin}/slow` }),
        "The request timed out. Please try again later or check the URL.",
      );
    });

    await t.step("the egress guard: private URLs are refused (as text the model reads)", async () => {
      const visit = new VisitWebpageTool();
      const text = await visit.call({ url: `${server.origin}/page` });
      assert.match(text, /^Error fetching the webpage: URL not allowed \(http: is not allowed/);
      const metadata = await visit.call({ url: "https://169.254.169.254/latest/meta-data/" });
      assert.match(metadata, /^Error fetching the webpage: URL not allowed/);
    });

    await t.step("a cancelled step aborts the call instead of answering", async () => {
      const visit = new VisitWebpageTool({ egress: LOOPBACK });
      const controller = new AbortController();
      const pending = visit.call({ url: `${server.origin}/slow` }, { signal: controller.signal });
      controller.abort(new Error("step cancelled"));
      await assert.rejects(pending, /step cancelled/);
    });

    await t.step("a converter of your own", async () => {
      const visit = new VisitWebpageTool({ egress: LOOPBACK, htmlToMarkdown: (html) => `${html.length} chars` });
      assert.match(await visit.call({ url: `${server.origin}/page` }), /^\d+ chars$/);
    });
  } finally {
    await server.close();
  }
});

Deno.test("wikipedia_search", async (t) => {
  const server = await startWebFixtureServer();
  try {
    await t.step("the whole article by default, with title and URL as smolagents formats them", async () => {
      const wiki = new WikipediaSearchTool({ baseUrl: server.origin, egress: LOOPBACK, userAgent: "test (me@x.y)" });
      assert.equal(
        await wiki.call({ query: "Python" }),
        "✅ **Wikipedia Page:** Python (programming language)\n\n**Content:** Python is a programming language.\n\n" +
          "History\nPython was conceived in the late 1980s.\n\n" +
          "🔗 **Read more:** https://en.wikipedia.org/wiki/Python_(programming_language)",
      );
      const request = server.requests.at(-1)!;
      assert.equal(request.url.pathname, "/w/api.php");
      assert.equal(request.url.searchParams.get("titles"), "Python");
      assert.equal(request.url.searchParams.get("redirects"), "1");
      assert.equal(request.url.searchParams.get("explaintext"), "1");
      assert.ok(!request.url.searchParams.has("exintro"));
      assert.equal(request.headers.get("user-agent"), "test (me@x.y)");
    });

    await t.step("summary: the lead section only; HTML extracts on request", async () => {
      const wiki = new WikipediaSearchTool({
        baseUrl: server.origin,
        egress: LOOPBACK,
        contentType: "summary",
        extractFormat: "HTML",
      });
      assert.match(
        await wiki.call({ query: "Python" }),
        /\*\*Content:\*\* <p><b>Python<\/b> is a programming language\.<\/p>\n\n🔗/,
      );
      const request = server.requests.at(-1)!;
      assert.equal(request.url.searchParams.get("exintro"), "1");
      assert.ok(!request.url.searchParams.has("explaintext"));
    });

    await t.step("a missing page and a failure are answers, as smolagents", async () => {
      const wiki = new WikipediaSearchTool({ baseUrl: server.origin, egress: LOOPBACK });
      assert.equal(
        await wiki.call({ query: "Nothing here" }),
        "No Wikipedia page found for 'Nothing here'. Try a different query.",
      );
      const refused = new WikipediaSearchTool({ baseUrl: server.origin });
      assert.match(await refused.call({ query: "Python" }), /^Error fetching Wikipedia summary: URL not allowed/);
    });

    await t.step("language picks the wiki", () => {
      assert.equal(new WikipediaSearchTool({ language: "fr" }).baseUrl, "https://fr.wikipedia.org");
      assert.throws(() => new WikipediaSearchTool({ extractFormat: "TXT" as "WIKI" }), /Invalid extractFormat/);
    });
  } finally {
    await server.close();
  }
});

Deno.test("decodeEntities: named, decimal and hex references; unknown ones kept", () => {
  assert.equal(decodeEntities("a&amp;b &mdash; &#8217; &#x1F600; &unknown;"), "a&b — ’ 😀 &unknown;");
});

Deno.test("addBaseTools", async (t) => {
  const { model } = functionModel([]);
  const names = (tools: Iterable<string>) => [...tools].sort();

  await t.step("ToolCallingAgent: the web tools, calculator (smolagents' python_interpreter place), user_input", () => {
    const agent = new ToolCallingAgent({ model, tools: [], addBaseTools: true });
    assert.deepEqual(
      names(agent.tools.keys()),
      ["calculator", "final_answer", "user_input", "visit_webpage", "web_search", "wikipedia_search"],
    );
  });

  await t.step("CodeAgent: no calculator (code computes) and no user_input (code cannot pause)", () => {
    const agent = new CodeAgent({ model, tools: [], addBaseTools: true, executor: createDenoQuickJSExecutor() });
    assert.deepEqual(names(agent.tools.keys()), ["final_answer", "visit_webpage", "web_search", "wikipedia_search"]);
  });

  await t.step("without it, nothing is added", () => {
    assert.deepEqual([...new ToolCallingAgent({ model, tools: [] }).tools.keys()], ["final_answer"]);
  });

  await t.step("options reach the tools; false leaves one out; a speech_to_text tool is added when given", () => {
    const speech = tool({
      name: "speech_to_text",
      description: "Transcribes audio.",
      inputs: z.object({ audio: z.string() }),
      run: () => "hello",
    });
    const agent = new ToolCallingAgent({
      model,
      addBaseTools: {
        webSearch: { provider: "brave", apiKey: "k", baseUrl: "https://search.example" },
        wikipediaSearch: false,
        userInput: false,
        speechToText: speech,
      },
    });
    assert.deepEqual(
      names(agent.tools.keys()),
      ["calculator", "final_answer", "speech_to_text", "visit_webpage", "web_search"],
    );
    const search = agent.tools.get("web_search") as WebSearchTool;
    assert.equal(search.provider.name, "brave");
  });

  await t.step("a tool of yours with a base tool's name is kept", () => {
    const mine = tool({
      name: "web_search",
      description: "Mine.",
      inputs: z.object({ query: z.string() }),
      run: () => "",
    });
    const agent = new ToolCallingAgent({ model, tools: [mine], addBaseTools: true });
    assert.equal(agent.tools.get("web_search"), mine);
  });

  await t.step("a ToolCallingAgent searches and reads a page end to end", async () => {
    const server = await startWebFixtureServer();
    try {
      const scripted = functionModel([
        { calls: [["web_search", { query: "smolagents" }]] },
        { calls: [["visit_webpage", { url: `${server.origin}/page` }]] },
        { calls: [["final_answer", { answer: "done" }]] },
      ]);
      const agent = new ToolCallingAgent({
        model: scripted.model,
        addBaseTools: { egress: LOOPBACK, webSearch: { baseUrl: server.origin } },
      });
      assert.equal(await agent.run("Research smolagents"), "done");
      const observations = scripted.calls[2].messages.map((message) => JSON.stringify(message.content)).join("\n");
      assert.match(observations, /## Search Results/);
      assert.match(observations, /# Agents & the edge/);
    } finally {
      await server.close();
    }
  });

  await t.step("a CodeAgent calls the base tools from its sandboxed code", async () => {
    const server = await startWebFixtureServer();
    try {
      const scripted = functionModel([
        '<code>\nconst found = await web_search({ query: "smolagents" });\n' +
        'const page = await wikipedia_search({ query: "Python" });\nfinal_answer(found.split("\\n")[2] + " | " + page.split("\\n")[0]);\n</code>',
      ]);
      const agent = new CodeAgent({
        model: scripted.model,
        executor: createDenoQuickJSExecutor(),
        addBaseTools: {
          egress: LOOPBACK,
          webSearch: { baseUrl: server.origin },
          wikipediaSearch: { baseUrl: server.origin },
        },
      });
      assert.equal(
        await agent.run("Research"),
        "[GitHub - huggingface/smolagents: a barebones library for agents](https://github.com/huggingface/smolagents)" +
          " | ✅ **Wikipedia Page:** Python (programming language)",
      );
    } finally {
      await server.close();
    }
  });

  await t.step("baseTools by kind", () => {
    assert.deepEqual(baseTools("CodeAgent", { visitWebpage: false }).map((tool) => tool.name), [
      "web_search",
      "wikipedia_search",
    ]);
  });
});
