import assert from "node:assert/strict";
import { BlobStore, MemoryBlobStore, resolveRef } from "../../lib/stores/blob_store.ts";
import { DENO_KV_MAX_VALUE_BYTES, DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { MemoryStore } from "../../lib/stores/memory_store.ts";
import { StoreLimitError } from "../../lib/stores/store_limit_error.ts";
import type { StateStore } from "../../lib/stores/state_store.ts";
import { base64ToBytes, encodeBase64 as bytesToBase64 } from "../../lib/base64.ts";
import { BlobError, MAX_BLOB_BYTES, parseBlobRef, parseDataUrl } from "../../lib/stores/blob_ref.ts";

const ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 1, 2, 3]);

/** `size` bytes of varied content (not all one value, so base64 and digests are exercised). */
function pattern(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + (i >> 8)) & 255);
}

async function blobError(promise: Promise<unknown>, code: string): Promise<BlobError> {
  let caught: unknown;
  await promise.catch((error) => caught = error);
  assert.ok(caught instanceof BlobError, `expected a BlobError(${code}), got ${caught}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

type Backend = { name: string; open: () => Promise<{ store: StateStore; close: () => void }> };
const backends: Backend[] = [
  { name: "MemoryStore", open: () => Promise.resolve({ store: new MemoryStore(), close: () => {} }) },
  {
    name: "DenoKvStore (:memory:)",
    open: async () => {
      const kv = await Deno.openKv(":memory:");
      return { store: new DenoKvStore(kv), close: () => kv.close() };
    },
  },
];

for (const backend of backends) {
  Deno.test(`BlobStore over ${backend.name}`, async (t) => {
    const { store, close } = await backend.open();
    const blobs = new BlobStore(store);
    try {
      await t.step("text goes in under its SHA-256 and comes back", async () => {
        const ref = await blobs.put("abc");
        assert.equal(ref, `blob:sha256:${ABC_SHA256};type=text/plain`);
        assert.equal((await store.get(`blobs/${ABC_SHA256}`))?.value, "t:abc");
        assert.equal(await blobs.resolveText(ref), "abc");
      });

      await t.step("identical content is stored once, whatever its type hint", async () => {
        const first = await blobs.put(PNG);
        assert.match(first, /^blob:sha256:[0-9a-f]{64};type=image\/png$/, "type sniffed from the bytes");
        const key = `blobs/${parseBlobRef(first).sha256}`;
        const before = await store.get(key);
        assert.equal(before?.value, `b:${bytesToBase64(PNG)}`);
        const second = await blobs.put(PNG.slice(), "image/x-custom");
        assert.equal(parseBlobRef(second).sha256, parseBlobRef(first).sha256);
        assert.equal((await store.get(key))?.version, before?.version, "not rewritten");
        // The same bytes given as text share the entry too (the digest is over the UTF-8 bytes).
        const asBytes = await blobs.put(new TextEncoder().encode("abc"));
        assert.equal(parseBlobRef(asBytes).sha256, ABC_SHA256);
      });

      await t.step("refs round trip with their type hint, or a sniffed type without one", async () => {
        const ref = await blobs.put(PNG, "image/png");
        assert.deepEqual(await blobs.resolve(ref), { bytes: PNG, mimeType: "image/png" });
        const bare = `blob:sha256:${parseBlobRef(ref).sha256}`;
        assert.equal((await blobs.resolve(bare)).mimeType, "image/png");
        const other = await blobs.put(new Uint8Array([1, 2, 3]));
        assert.equal(parseBlobRef(other).mimeType, undefined, "unknown bytes get no hint");
        assert.equal((await blobs.resolve(other)).mimeType, "application/octet-stream");
      });

      await t.step("data: URLs convert both ways", async () => {
        const ref = await blobs.put(PNG);
        const url = await blobs.toDataUrl(ref);
        assert.equal(url, `data:image/png;base64,${bytesToBase64(PNG)}`);
        assert.deepEqual(await blobs.resolve(url), { bytes: PNG, mimeType: "image/png" });
        assert.equal(await blobs.toDataUrl(url), url, "a data: URL is already one");
      });

      await t.step("content up to the ceiling fits the store; one byte more is refused unwritten", async () => {
        assert.ok(Math.ceil(MAX_BLOB_BYTES / 3) * 4 + 2 <= DENO_KV_MAX_VALUE_BYTES);
        const largest = pattern(MAX_BLOB_BYTES);
        const ref = await blobs.put(largest);
        assert.deepEqual((await blobs.resolve(ref)).bytes, largest);
        const error = await blobError(blobs.put(pattern(MAX_BLOB_BYTES + 1)), "too_large");
        assert.match(error.message, /524289 bytes; the limit is 524288/);
        await blobError(blobs.resolve(`data:;base64,${bytesToBase64(pattern(MAX_BLOB_BYTES + 3))}`), "too_large");
      });

      await t.step("unknown, malformed and damaged refs are reported", async () => {
        await blobError(blobs.resolve(`blob:sha256:${"0".repeat(64)}`), "not_found");
        await blobError(blobs.resolve("blob:sha256:XYZ"), "invalid_ref");
        await blobError(blobs.resolve("https://example.com/a.png"), "invalid_ref");
        const ref = await blobs.put("tamper me");
        await store.put(`blobs/${parseBlobRef(ref).sha256}`, "t:tampered");
        await blobError(blobs.resolve(ref), "corrupt");
        await store.put(`blobs/${parseBlobRef(ref).sha256}`, "x:???");
        await blobError(blobs.resolve(ref), "corrupt");
      });
    } finally {
      close();
    }
  });
}

Deno.test("BlobStore specifics", async (t) => {
  await t.step("a maxBytes above what the state store takes fails as too_large, with the cause", async () => {
    const kv = await Deno.openKv(":memory:");
    try {
      const blobs = new BlobStore(new DenoKvStore(kv), { maxBytes: 1_000_000 });
      const error = await blobError(blobs.put(pattern(600_000)), "too_large");
      assert.ok(error.cause instanceof StoreLimitError && error.cause.code === "value_too_large");
    } finally {
      kv.close();
    }
  });

  await t.step("a repeated put pushes the expiry out; a prefix keeps blobs apart", async () => {
    let now = 0;
    const store = new MemoryStore({ now: () => now });
    const blobs = new BlobStore(store, { expireIn: 10, prefix: "run-blobs/" });
    const ref = await blobs.put("short-lived");
    assert.ok(await store.get(`run-blobs/${parseBlobRef(ref).sha256}`));
    now = 8_000;
    await blobs.put("short-lived");
    now = 15_000;
    assert.equal(await blobs.resolveText(ref), "short-lived", "still there 7 s after the second put");
    now = 18_001;
    await blobError(blobs.resolve(ref), "not_found");
  });
});

Deno.test("MemoryBlobStore", async (t) => {
  await t.step("travels as JSON and comes back whole", async () => {
    const blobs = new MemoryBlobStore();
    const image = await blobs.put(PNG);
    const text = await blobs.put("note");
    await blobs.put("note");
    assert.equal(blobs.totalBytes, PNG.length + 4, "deduplicated");
    const restored = MemoryBlobStore.fromJSON(JSON.parse(JSON.stringify(blobs)));
    assert.deepEqual((await restored.resolve(image)).bytes, PNG);
    assert.equal(await restored.resolveText(text), "note");
    assert.equal(restored.totalBytes, blobs.totalBytes);
  });

  await t.step("caps the total, and refuses malformed or damaged saved entries", async () => {
    const blobs = new MemoryBlobStore({ maxTotalBytes: 10 });
    await blobs.put("123456");
    const error = await blobError(blobs.put("7890ab"), "too_large");
    assert.match(error.message, /bring the run's blobs to 12 bytes; the limit is 10/);
    assert.throws(
      () => MemoryBlobStore.fromJSON({ "not-a-digest": "t:x" }),
      (e) => (e as BlobError).code === "corrupt",
    );
    const tampered = MemoryBlobStore.fromJSON({ [ABC_SHA256]: "t:abd" });
    await blobError(tampered.resolve(`blob:sha256:${ABC_SHA256}`), "corrupt");
    const big = { [ABC_SHA256]: `b:${bytesToBase64(pattern(64))}` };
    assert.throws(() => MemoryBlobStore.fromJSON(big, { maxBytes: 32 }), (e) => (e as BlobError).code === "too_large");
  });
});

Deno.test("resolving without a store (stateless mode)", async (t) => {
  await t.step("data: URLs resolve, blob refs are refused clearly", async () => {
    assert.deepEqual(await resolveRef(`data:image/png;base64,${bytesToBase64(PNG)}`), {
      bytes: PNG,
      mimeType: "image/png",
    });
    const error = await blobError(resolveRef(`blob:sha256:${ABC_SHA256}`), "no_store");
    assert.match(error.message, /no blob store \(stateless mode\)/);
    await blobError(resolveRef("hello"), "invalid_ref");
  });

  await t.step("data: URL forms: percent-encoded, no type, whitespace in base64, garbage", () => {
    assert.deepEqual(parseDataUrl("data:,a%20b"), { bytes: new TextEncoder().encode("a b"), mimeType: "text/plain" });
    assert.equal(parseDataUrl("data:Image/PNG;charset=x;base64,iVBO\nRw0K").mimeType, "image/png");
    assert.throws(() => parseDataUrl("data:image/png;base64,!!!!"), (e) => (e as BlobError).code === "invalid_ref");
    assert.throws(() => parseDataUrl("data:no-comma"), (e) => (e as BlobError).code === "invalid_ref");
  });

  await t.step("base64 works without the runtime's native Uint8Array methods too", () => {
    const proto = Uint8Array.prototype as { toBase64?: unknown };
    const ctor = Uint8Array as { fromBase64?: unknown };
    const saved = [proto.toBase64, ctor.fromBase64];
    const bytes = pattern(1000);
    const native = bytesToBase64(bytes);
    try {
      delete proto.toBase64;
      delete ctor.fromBase64;
      assert.equal(bytesToBase64(bytes), native);
      assert.deepEqual(base64ToBytes(native), bytes);
    } finally {
      [proto.toBase64, ctor.fromBase64] = saved;
    }
  });
});
