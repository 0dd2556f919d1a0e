import assert from "node:assert/strict";
import { base64ToBytes, decodeBase64, decodeBase64Url, encodeBase64, encodeBase64Url } from "../lib/base64.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

Deno.test("base64 and base64url: known vectors, both ways, with and without the runtime's native methods", () => {
  const proto = Uint8Array.prototype as { toBase64?: unknown };
  const ctor = Uint8Array as { fromBase64?: unknown };
  const saved = [proto.toBase64, ctor.fromBase64];
  try {
    for (const native of [true, false]) {
      if (!native) {
        delete proto.toBase64;
        delete ctor.fromBase64;
      }
      // RFC 4648 section 10, plus bytes that differ between the two alphabets.
      assert.equal(encodeBase64(new TextEncoder().encode("fooba")), "Zm9vYmE=");
      assert.deepEqual(decodeBase64("Zm9vYmE="), new TextEncoder().encode("fooba"));
      assert.deepEqual(decodeBase64("Zm9vYmE"), new TextEncoder().encode("fooba"), "padding is optional");
      assert.equal(encodeBase64(bytes(0xfb, 0xff, 0xbf)), "+/+/");
      assert.equal(encodeBase64Url(bytes(0xfb, 0xff, 0xbf, 0x01)), "-_-_AQ");
      assert.deepEqual(decodeBase64Url("-_-_AQ"), bytes(0xfb, 0xff, 0xbf, 0x01));
      assert.equal(encodeBase64(bytes()), "");
      const large = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) & 255);
      assert.deepEqual(base64ToBytes(encodeBase64(large)), large);
      assert.deepEqual(decodeBase64Url(encodeBase64Url(large)), large);
    }
  } finally {
    [proto.toBase64, ctor.fromBase64] = saved;
  }
});

Deno.test("base64: malformed text is refused (null, or SyntaxError from base64ToBytes)", () => {
  for (const text of ["!!!!", "Zm9v-A==", "Z", "Zm9vY", "Zm9v===", "Zm 9v"]) {
    assert.equal(decodeBase64(text), null, text);
    assert.throws(() => base64ToBytes(text), SyntaxError);
  }
  for (const text of ["+/+/", "Zm9vYmE=", "Z"]) assert.equal(decodeBase64Url(text), null, text);
});
