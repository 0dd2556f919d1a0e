/**
 * A loopback server speaking the documented request and response shapes of the services the default tools call,
 * so no test reaches them: DuckDuckGo's HTML endpoint (`GET /html/?q=`), Brave's Web Search API
 * (`GET /brave/res/v1/web/search`), Serper (`POST /serper/search`), Tavily (`POST /tavily/search`), the MediaWiki
 * Action API (`GET /w/api.php`), and plain web pages (`/page`, `/long`, `/latin1`, `/missing`, `/slow`). Every request is
 * recorded.
 */
const FIXTURES = new URL("./web_fixtures/", import.meta.url);

export interface RecordedRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: string;
}

export interface WebFixtureServer {
  origin: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const json = (value: unknown, status = 200) =>
  new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });

async function fixture(name: string): Promise<string> {
  return await Deno.readTextFile(new URL(name, FIXTURES));
}

export function startWebFixtureServer(): Promise<WebFixtureServer> {
  const requests: RecordedRequest[] = [];
  const listening = Promise.withResolvers<void>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => listening.resolve() },
    async (request) => {
      const url = new URL(request.url);
      const body = await request.text();
      requests.push({ method: request.method, url, headers: request.headers, body });
      const html = async (name: string) =>
        new Response(await fixture(name), { headers: { "content-type": "text/html; charset=utf-8" } });
      switch (url.pathname) {
        case "/html/":
          return html(url.searchParams.get("q") === "nothing at all" ? "no_results.html" : "duckduckgo_results.html");
        case "/brave/res/v1/web/search":
          if (request.headers.get("x-subscription-token") !== "brave-key") return json({ error: "unauthorized" }, 401);
          return json({
            type: "search",
            query: { original: url.searchParams.get("q") },
            web: {
              type: "search",
              results: [
                { title: "Brave result", url: "https://brave.example/one", description: "The <strong>first</strong>." },
                { title: "Second", url: "https://brave.example/two", description: "Another." },
              ],
            },
          });
        case "/serper/search":
          if (request.headers.get("x-api-key") !== "serper-key") return json({ message: "Unauthorized." }, 403);
          return json({
            searchParameters: { ...JSON.parse(body), type: "search", engine: "google" },
            organic: [{
              title: "Serper result",
              link: "https://serper.example/",
              snippet: "From Google.",
              position: 1,
            }],
          });
        case "/tavily/search":
          if (request.headers.get("authorization") !== "Bearer tvly-key") return json({ detail: "Unauthorized" }, 401);
          return json({
            query: JSON.parse(body).query,
            results: [{ title: "Tavily result", url: "https://tavily.example/", content: "Found it.", score: 0.9 }],
            response_time: 0.5,
          });
        case "/w/api.php": {
          const title = url.searchParams.get("titles") ?? "";
          if (title === "Nothing here") {
            return json({ batchcomplete: true, query: { pages: [{ ns: 0, title, missing: true }] } });
          }
          const intro = url.searchParams.has("exintro");
          const plain = url.searchParams.has("explaintext");
          const lead = plain ? "Python is a programming language." : "<p><b>Python</b> is a programming language.</p>";
          return json({
            batchcomplete: true,
            query: {
              redirects: title === "Python" ? [{ from: "Python", to: "Python (programming language)" }] : undefined,
              pages: [{
                pageid: 23862,
                ns: 0,
                title: "Python (programming language)",
                extract: intro ? lead : `${lead}\n\nHistory\nPython was conceived in the late 1980s.`,
                contentmodel: "wikitext",
                fullurl: "https://en.wikipedia.org/wiki/Python_(programming_language)",
              }],
            },
          });
        }
        case "/page":
          return html("article.html");
        case "/long":
          return new Response(`<p>${"word ".repeat(20_000)}</p>`, { headers: { "content-type": "text/html" } });
        case "/latin1":
          return new Response(new Uint8Array([0x3c, 0x70, 0x3e, 0x63, 0x61, 0x66, 0xe9, 0x3c, 0x2f, 0x70, 0x3e]), {
            headers: { "content-type": "text/html; charset=ISO-8859-1" },
          });
        case "/missing":
          return new Response("not found", { status: 404, statusText: "Not Found" });
        case "/slow":
          await new Promise((resolve) => setTimeout(resolve, 500));
          return html("article.html");
        default:
          return new Response("no such fixture", { status: 404 });
      }
    },
  );
  return listening.promise.then(() => ({
    origin: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close: () => server.shutdown(),
  }));
}
