import assert from "node:assert/strict";
import { ToolCallingAgent } from "../../lib/mod.ts";
import { COMPRESS_FROM_BYTES, StateTokenCodec, StateTokenError } from "../../lib/runs/state_token.ts";
import { decodeBase64Url, encodeBase64Url } from "../../lib/base64.ts";

const SECRET = "test-secret-0123456789abcdef";
const state = new ToolCallingAgent({ model: () => "", name: "assistant" }).start("secret task: 7 + 5", {
  additionalArgs: { apiHint: "do not leak" },
});

async function rejectsWith(promise: Promise<unknown>, code: string) {
  await assert.rejects(promise, (error: Error) => {
    assert.ok(error instanceof StateTokenError, `expected StateTokenError, got ${error}`);
    assert.equal(error.code, code);
    return true;
  });
}

Deno.test("state tokens", async (t) => {
  const codec = new StateTokenCodec(SECRET);

  await t.step("round trip", async () => {
    const token = await codec.seal("assistant", state);
    assert.match(token, /^st1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(await codec.open(token, "assistant"), state);
  });

  await t.step("encrypted by default: the payload does not reveal the state", async () => {
    const token = await codec.seal("assistant", state);
    const bytes = decodeBase64Url(token.split(".")[1])!;
    const text = new TextDecoder("latin1").decode(bytes);
    assert.ok(!text.includes("secret task"));
    // Sealing twice gives different tokens (random IV).
    assert.notEqual(token, await codec.seal("assistant", state));
  });

  await t.step(
    "a correctly signed payload that is neither JSON nor gzip (or is cut short) is invalid_token; both forms open",
    async () => {
      // Signed with the MAC key the module comment documents (HKDF-SHA256 of the secret, info "smolstep state mac v1").
      const base = await crypto.subtle.importKey("raw", new TextEncoder().encode(SECRET), "HKDF", false, ["deriveKey"]);
      const mac = await crypto.subtle.deriveKey(
        {
          name: "HKDF",
          hash: "SHA-256",
          salt: new Uint8Array(0),
          info: new TextEncoder().encode("smolstep state mac v1"),
        },
        base,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign"],
      );
      const sign = async (payload: Uint8Array) => {
        const signed = `st1.${encodeBase64Url(payload)}`;
        const signature = await crypto.subtle.sign("HMAC", mac, new TextEncoder().encode(signed));
        return `${signed}.${encodeBase64Url(new Uint8Array(signature))}`;
      };
      const plain = new StateTokenCodec(SECRET, { encrypt: false });
      const good = decodeBase64Url((await plain.seal("assistant", state)).split(".")[1])!;
      assert.deepEqual(await plain.open(await sign(good), "assistant"), state, "the test signs as the codec does");
      await rejectsWith(
        plain.open(await sign(new TextEncoder().encode("not gzip at all")), "assistant"),
        "invalid_token",
      );
      await rejectsWith(plain.open(await sign(good.subarray(0, good.length - 9)), "assistant"), "invalid_token");

      // Small payloads are sealed as plain JSON, large ones gzipped; tokens whose small payload was gzipped (as every
      // payload was before) still open.
      assert.equal(good[0], "{".charCodeAt(0), "a small state is not compressed");
      assert.ok(good.length < COMPRESS_FROM_BYTES);
      const gzipped = new Uint8Array(
        await new Response(new Blob([good]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
      );
      assert.deepEqual(await plain.open(await sign(gzipped), "assistant"), state, "a gzipped small payload opens");
      const large = new ToolCallingAgent({ model: () => "", name: "assistant" }).start("x".repeat(COMPRESS_FROM_BYTES));
      const largeToken = await plain.seal("assistant", large);
      const largePayload = decodeBase64Url(largeToken.split(".")[1])!;
      assert.deepEqual([largePayload[0], largePayload[1]], [0x1f, 0x8b], "a large state is gzipped");
      assert.ok(largePayload.length < COMPRESS_FROM_BYTES / 4, "and compressed");
      assert.deepEqual(await plain.open(largeToken, "assistant"), large);
      assert.deepEqual(await codec.open(await codec.seal("assistant", large), "assistant"), large, "encrypted too");
    },
  );

  await t.step("unencrypted tokens are still signed", async () => {
    const plain = new StateTokenCodec(SECRET, { encrypt: false });
    const token = await plain.seal("assistant", state);
    assert.deepEqual(await plain.open(token, "assistant"), state);
    await rejectsWith(codec.open(token, "assistant"), "invalid_token");
  });

  await t.step("modified, truncated, foreign, other-agent, expired and garbage tokens are rejected", async () => {
    const token = await codec.seal("assistant", state);
    const [prefix, payload, mac] = token.split(".");
    const bytes = decodeBase64Url(payload)!;
    bytes[bytes.length >> 1] ^= 1;
    await rejectsWith(codec.open(`${prefix}.${encodeBase64Url(bytes)}.${mac}`, "assistant"), "invalid_token");
    await rejectsWith(codec.open(token.slice(0, -5), "assistant"), "invalid_token");
    await rejectsWith(codec.open(`${prefix}.${payload.slice(0, -8)}.${mac}`, "assistant"), "invalid_token");
    const foreign = new StateTokenCodec("another-secret-0123456789");
    await rejectsWith(foreign.open(token, "assistant"), "invalid_token");
    await rejectsWith(codec.open(token, "other_agent"), "token_agent_mismatch");
    const expired = new StateTokenCodec(SECRET, { ttlSeconds: -10 });
    await rejectsWith(codec.open(await expired.seal("assistant", state), "assistant"), "token_expired");
    for (const garbage of ["", "st1", "st1..", "st1.!!!.???", "xx.aaaa.bbbb", "st1.aaaa.bbbb.cccc"]) {
      await rejectsWith(codec.open(garbage, "assistant"), "invalid_token");
    }
  });

  await t.step("short secrets are refused", async () => {
    await assert.rejects(() => new StateTokenCodec("short").seal("assistant", state), /at least 16 characters/);
  });
});
