import assert from "node:assert/strict";
import { VERSION } from "../../lib/version.ts";

Deno.test("VERSION (shown by /health and on the OTel meter) is deno.json's version", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.equal(VERSION, config.version);
});
