/**
 * `GET /docs` in Chromium (playwright-core): the API document's page loads from the app alone (every request the page
 * makes, watched through playwright's request events, goes to the app's origin: no CDN, no font, no analytics) and
 * lists every operation of `/openapi.json` with its method and path, and every schema. Needs /usr/bin/chromium;
 * skipped with a message when it is missing (a failure on CI).
 */
import assert from "node:assert/strict";
import { createApp, MemoryStore } from "../../lib/server.ts";
import { idleAgent } from "../support/idle_agent.ts";
import { CHROMIUM, haveChromium, launchChromium, onCi } from "../support/chromium.ts";

if (!haveChromium && !onCi) console.warn(`SKIPPED docs page browser test: ${CHROMIUM} is missing.`);

Deno.test({
  name: `GET /docs in Chromium${haveChromium ? "" : ` (SKIPPED: ${CHROMIUM} missing)`}`,
  ignore: !haveChromium && !onCi,
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const app = createApp({
    agents: { a: idleAgent() },
    store: new MemoryStore(),
    secret: "docs-page-secret-0123456789",
    apiKeys: ["docs-key"],
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const browser = await launchChromium();
  const page = await browser.newPage();
  const requested: string[] = [];
  const failed: string[] = [];
  const pageErrors: string[] = [];
  page.on("request", (request) => requested.push(request.url()));
  page.on("requestfailed", (request) => failed.push(request.url()));
  page.on("pageerror", (error) => pageErrors.push(error.message));
  try {
    const doc = await (await fetch(`${base}/openapi.json`)).json();
    const operations = Object.entries<Record<string, unknown>>(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method} ${path}`)
    ).sort();
    assert.ok(operations.includes("get /v1/runs/{runId}/blobs/{sha256}"));

    const response = await page.goto(`${base}/docs`, { waitUntil: "networkidle" });
    assert.equal(response?.status(), 200);
    await page.waitForSelector("#ops details", { state: "attached" });
    assert.match(await page.textContent("#info") ?? "", /OpenAPI 3\.1\.0/);

    const listed = await page.evaluate<string[]>(
      `[...document.querySelectorAll("#ops > details > summary")].map((s) =>
        s.querySelector(".m").textContent + " " + s.querySelector("code").textContent)`,
    );
    assert.deepEqual(listed.sort(), operations, "every operation, once, with its method and path");
    const schemas = await page.evaluate<string[]>(
      `[...document.querySelectorAll("#schemas > details")].map((d) => d.id)`,
    );
    assert.deepEqual(schemas.sort(), Object.keys(doc.components.schemas).sort());
    // An operation opens to its parameters and responses.
    await page.click("#ops summary:has-text('/v1/runs/{runId}/blobs/{sha256}')");
    const details = await page.textContent("#ops details[open]") ?? "";
    assert.match(details, /path sha256/);
    assert.match(details, /blob_not_found/);
    assert.match(details, /Needs Authorization: Bearer/);

    assert.deepEqual(requested.sort(), [`${base}/docs`, `${base}/openapi.json`], "the page loads nothing else");
    assert.ok(requested.every((url) => new URL(url).origin === base), requested.join(" "));
    assert.deepEqual(failed, []);
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser.close();
    await server.shutdown();
  }
});
