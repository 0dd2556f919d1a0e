import assert from "node:assert/strict";
import { ToolCallingAgent } from "../../lib/mod.ts";
import { COMPRESS_FROM_BYTES, StateTokenCodec, StateTokenError } from "../../lib/runs/state_token.ts";
import { decodeBase64Url, encodeBase64Url } from "../../lib/base64.ts";
import { nodeTokenCipher } from "../../lib/adapters/deno/node_token_cipher.ts";

const SECRET = "test-secret-0123456789abcdef";
const state = new ToolCallingAgent({ model: () => "", name: "assistant" }).start("secret task: 7 + 5", {
  additionalArgs: { apiHint: "do not leak" },
});

/** A key derived from SECRET as the module comment of lib/runs/state_token.ts documents. */
async function deriveKey(info: string, algorithm: HmacKeyGenParams | AesKeyGenParams, usages: KeyUsage[]) {
  const base = await crypto.subtle.importKey("raw", new TextEncoder().encode(SECRET), "HKDF", false, ["deriveKey"]);
  const hkdf = { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new TextEncoder().encode(info) };
  return await crypto.subtle.deriveKey(hkdf, base, algorithm, false, usages);
}

async function gzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

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
    assert.match(token, /^st2\.[A-Za-z0-9_-]+$/);
    assert.deepEqual(await codec.open(token, "assistant"), state);
    const signedOnly = await new StateTokenCodec(SECRET, { encrypt: false }).seal("assistant", state);
    assert.match(signedOnly, /^st1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  });

  await t.step("format 2 is AES-GCM with the prefix as additional data, under the documented key", async () => {
    const token = await codec.seal("assistant", state);
    const sealed = decodeBase64Url(token.slice("st2.".length))!;
    const aead = await deriveKey("smolstep state aead v2", { name: "AES-GCM", length: 256 }, ["decrypt"]);
    const decrypt = (additionalData: Uint8Array<ArrayBuffer>) =>
      crypto.subtle.decrypt({ name: "AES-GCM", iv: sealed.subarray(0, 12), additionalData }, aead, sealed.subarray(12));
    const json = JSON.parse(new TextDecoder().decode(await decrypt(new TextEncoder().encode("st2"))));
    assert.deepEqual([json.agent, json.state], ["assistant", state]);
    await assert.rejects(decrypt(new TextEncoder().encode("st1")), "the prefix is authenticated");
  });

  await t.step("format 1 tokens (sealed before format 2) still open: encrypted, gzipped or not", async () => {
    const mac = await deriveKey("smolstep state mac v1", { name: "HMAC", hash: "SHA-256", length: 256 }, ["sign"]);
    const enc = await deriveKey("smolstep state enc v1", { name: "AES-GCM", length: 256 }, ["encrypt"]);
    const current = await codec.read(await codec.seal("assistant", state), "assistant");
    const body = { agent: "assistant", id: current.id, iat: current.exp - 60, exp: current.exp, state };
    const json = new TextEncoder().encode(JSON.stringify(body));
    for (const plain of [json, await gzip(json)]) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, enc, plain));
      const signed = `st1.${encodeBase64Url(new Uint8Array([...iv, ...sealed]))}`;
      const signature = await crypto.subtle.sign("HMAC", mac, new TextEncoder().encode(signed));
      const legacy = `${signed}.${encodeBase64Url(new Uint8Array(signature))}`;
      for (const reader of [codec, new StateTokenCodec(SECRET, { cipher: nodeTokenCipher })]) {
        const opened = await reader.read(legacy, "assistant");
        assert.deepEqual([opened.state, opened.id, opened.exp], [state, current.id, current.exp]);
      }
      // Its payload is not a format 2 token: the key and the additional data differ.
      await rejectsWith(codec.open(`st2.${signed.slice(4)}`, "assistant"), "invalid_token");
    }
  });

  await t.step("the node:crypto cipher (Deno) and WebCrypto seal the same tokens: each opens the other's", async () => {
    const viaNode = new StateTokenCodec(SECRET, { cipher: nodeTokenCipher });
    const fromNode = await viaNode.seal("assistant", state);
    const fromWeb = await codec.seal("assistant", state);
    assert.deepEqual(await codec.open(fromNode, "assistant"), state);
    assert.deepEqual(await viaNode.open(fromWeb, "assistant"), state);
    assert.deepEqual(await viaNode.open(fromNode, "assistant"), state);
    const large = new ToolCallingAgent({ model: () => "", name: "assistant" }).start("y".repeat(COMPRESS_FROM_BYTES));
    assert.deepEqual(await codec.open(await viaNode.seal("assistant", large), "assistant"), large, "gzipped too");
    const sealed = decodeBase64Url(fromNode.slice(4))!;
    for (const at of [0, 12, sealed.length >> 1, sealed.length - 1]) {
      const modified = sealed.slice();
      modified[at] ^= 1;
      await rejectsWith(viaNode.open(`st2.${encodeBase64Url(modified)}`, "assistant"), "invalid_token");
    }
    await rejectsWith(viaNode.open(`st2.${encodeBase64Url(sealed.subarray(0, 27))}`, "assistant"), "invalid_token");
    for (const cut of [1, 12]) { // cut into the tag
      await rejectsWith(viaNode.open(`st2.${encodeBase64Url(sealed.subarray(0, -cut))}`, "assistant"), "invalid_token");
    }
    const foreign = new StateTokenCodec("another-secret-0123456789", { cipher: nodeTokenCipher });
    await rejectsWith(foreign.open(fromNode, "assistant"), "invalid_token");
    await rejectsWith(foreign.open(fromWeb, "assistant"), "invalid_token");
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
      const mac = await deriveKey("smolstep state mac v1", { name: "HMAC", hash: "SHA-256", length: 256 }, ["sign"]);
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
      const gzipped = await gzip(good);
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
    const plain = new StateTokenCodec(SECRET, { encrypt: false });
    const signed = await plain.seal("assistant", state);
    const [prefix, payload, mac] = signed.split(".");
    const bytes = decodeBase64Url(payload)!;
    bytes[bytes.length >> 1] ^= 1;
    await rejectsWith(plain.open(`${prefix}.${encodeBase64Url(bytes)}.${mac}`, "assistant"), "invalid_token");
    await rejectsWith(plain.open(signed.slice(0, -5), "assistant"), "invalid_token");
    await rejectsWith(plain.open(`${prefix}.${payload.slice(0, -8)}.${mac}`, "assistant"), "invalid_token");
    const token = await codec.seal("assistant", state);
    const sealed = decodeBase64Url(token.slice(4))!;
    for (const at of [0, 12, sealed.length >> 1, sealed.length - 1]) { // the IV, the ciphertext, the tag
      const modified = sealed.slice();
      modified[at] ^= 1;
      await rejectsWith(codec.open(`st2.${encodeBase64Url(modified)}`, "assistant"), "invalid_token");
    }
    await rejectsWith(codec.open(token.slice(0, -5), "assistant"), "invalid_token");
    await rejectsWith(codec.open(`st2.${encodeBase64Url(sealed.subarray(0, 27))}`, "assistant"), "invalid_token");
    await rejectsWith(codec.open(`st1.${token.slice(4)}.${mac}`, "assistant"), "invalid_token");
    assert.deepEqual(await plain.open(token, "assistant"), state, "a codec that does not encrypt opens st2 too");
    const foreign = new StateTokenCodec("another-secret-0123456789");
    await rejectsWith(foreign.open(token, "assistant"), "invalid_token");
    await rejectsWith(foreign.open(signed, "assistant"), "invalid_token");
    await rejectsWith(codec.open(token, "other_agent"), "token_agent_mismatch");
    const expired = new StateTokenCodec(SECRET, { ttlSeconds: -10 });
    await rejectsWith(codec.open(await expired.seal("assistant", state), "assistant"), "token_expired");
    for (
      const garbage of [
        "",
        "st1",
        "st1..",
        "st1.!!!.???",
        "xx.aaaa.bbbb",
        "st1.aaaa.bbbb.cccc",
        "st2",
        "st2.",
        "st2.!!",
      ]
    ) {
      await rejectsWith(codec.open(garbage, "assistant"), "invalid_token");
    }
  });

  await t.step("short secrets are refused", async () => {
    await assert.rejects(() => new StateTokenCodec("short").seal("assistant", state), /at least 16 characters/);
  });
});
