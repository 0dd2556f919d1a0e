import assert from "node:assert/strict";
import { ApiKeyVerifier } from "../../lib/http/api_keys.ts";

Deno.test("API keys: exactly the configured keys pass, whatever their order", async () => {
  const keys = new ApiKeyVerifier(["first-key-0123456789", "second-key-abcdefghij"]);
  assert.equal(await keys.verify("first-key-0123456789"), true);
  assert.equal(await keys.verify("second-key-abcdefghij"), true);
  for (const wrong of ["", "first-key-012345678", "first-key-01234567890", "FIRST-KEY-0123456789", "second-key"]) {
    assert.equal(await keys.verify(wrong), false, `'${wrong}' passed`);
  }
  assert.equal(await new ApiKeyVerifier([]).verify(""), false, "no keys: nothing passes");
});
