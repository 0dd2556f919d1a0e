import assert from "node:assert/strict";
import { BlobStore, MemoryBlobStore } from "../../lib/stores/blob_store.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import {
  AgentAudio,
  AgentImage,
  AgentText,
  BlobError,
  decodeWav,
  encodeWav,
  isBlobRef,
  unwrapAgentValue,
  unwrapToolArguments,
  wrapToolOutput,
} from "../../lib/types/agent_types.ts";
import { encodeBase64 as bytesToBase64 } from "../../lib/base64.ts";
import { EgressError } from "../../lib/net/egress.ts";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 7, 7, 7]);
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
const PNG_URL = `data:image/png;base64,${bytesToBase64(PNG)}`;

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error) => error instanceof BlobError && error.code === code);
}

/** Runs `fn` with a BlobStore over a fresh Deno KV `:memory:` database, closed afterwards. */
async function withKvBlobs(fn: (blobs: BlobStore) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(new BlobStore(new DenoKvStore(kv)));
  } finally {
    kv.close();
  }
}

Deno.test("AgentText behaves like a string", () => {
  const text = new AgentText("hello");
  assert.equal(String(text), "hello");
  assert.equal(`${text} world`, "hello world");
  assert.equal(text + "!", "hello!");
  assert.equal(text.length, 5);
  assert.equal(text.toUpperCase(), "HELLO");
  assert.equal(text.toRaw(), "hello");
  assert.equal(text.toString(), "hello");
  assert.equal(JSON.stringify({ answer: text }), '{"answer":"hello"}');
  assert.ok(text instanceof String);
});

Deno.test("AgentImage", async (t) => {
  await t.step("bytes in hand: sniffed type, raw bytes, a short string form until stored", async () => {
    const image = new AgentImage(JPEG);
    assert.equal(image.mimeType, "image/jpeg");
    assert.equal(image.toRaw(), JPEG);
    assert.equal(String(image), "[AgentImage image/jpeg, 7 bytes, not stored]");
    const blobs = new MemoryBlobStore();
    const ref = await image.store(blobs);
    assert.ok(isBlobRef(ref) && ref.endsWith(";type=image/jpeg"));
    assert.equal(String(image), ref);
    assert.equal(JSON.stringify([image]), JSON.stringify([ref]));
  });

  await t.step("a ref loads through the store (Deno KV) on bytes(); toRaw() waits for that", async () => {
    await withKvBlobs(async (blobs) => {
      const ref = await blobs.put(PNG);
      const image = new AgentImage(ref, { blobs });
      assert.equal(image.loaded, false);
      assert.throws(() => image.toRaw(), /not loaded; call await bytes\(\) first/);
      assert.deepEqual(await image.bytes(), PNG);
      assert.deepEqual(image.toRaw(), PNG);
      assert.equal(image.mimeType, "image/png");
      assert.equal(String(image), ref);
      await rejectsWith(new AgentImage(ref).bytes(), "no_store");
    });
  });

  await t.step("data: URLs decode; image parts are data: URLs, or the https: URL as it is", async () => {
    const image = new AgentImage(PNG_URL);
    assert.deepEqual(image.toRaw(), PNG);
    assert.deepEqual(await image.toImagePart(), { type: "image", image: PNG_URL });
    const remote = new AgentImage("https://example.invalid/cat.png");
    assert.deepEqual(await remote.toImagePart(), { type: "image", image: "https://example.invalid/cat.png" });
    assert.equal(String(remote), "https://example.invalid/cat.png");
  });

  await t.step("an http(s): URL is fetched on bytes() (loopback through the local-network opt-in)", async () => {
    const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (request) => {
      if (new URL(request.url).pathname === "/cat.jpg") return new Response(JPEG);
      if (new URL(request.url).pathname === "/huge.png") return new Response(new Uint8Array(2048));
      return new Response("nope", { status: 404 });
    });
    try {
      const base = `http://127.0.0.1:${server.addr.port}`;
      const egress = { allowPrivateNetwork: true };
      const image = new AgentImage(`${base}/cat.jpg`, { egress });
      assert.deepEqual(await image.bytes(), JPEG);
      assert.equal(image.mimeType, "image/jpeg");
      assert.deepEqual(await new AgentImage(image).bytes(), JPEG, "a copy keeps the policy");
      await assert.rejects(new AgentImage(`${base}/missing.png`, { egress }).bytes(), /answered 404/);
      const huge = new AgentImage(`${base}/huge.png`, { egress });
      await rejectsWith(huge.bytes(new MemoryBlobStore({ maxBytes: 1024 })), "too_large");
    } finally {
      await server.shutdown();
    }
  });

  await t.step("SSRF: a media URL naming loopback, or redirecting there, is not fetched", async () => {
    let secretHits = 0;
    const secret = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, () => {
      secretHits++;
      return new Response(PNG);
    });
    const target = `http://127.0.0.1:${secret.addr.port}/admin.png`;
    const redirector = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, () => {
      return new Response(null, { status: 302, headers: { Location: target } });
    });
    try {
      for (const url of [target, `http://2130706433:${secret.addr.port}/`, `http://localhost:${secret.addr.port}/`]) {
        await assert.rejects(new AgentImage(url).bytes(), EgressError, url);
        await assert.rejects(new AgentAudio(url).bytes(), EgressError, url);
      }
      // The deployer allows the redirector's origin only; its redirect to the loopback target is re-checked.
      const egress = { allowHosts: [`http://127.0.0.1:${redirector.addr.port}`], allowHttp: true };
      await assert.rejects(new AgentImage(`http://127.0.0.1:${redirector.addr.port}/cat.png`, { egress }).bytes(), {
        name: "EgressError",
        message: /loopback/,
      });
      assert.equal(secretHits, 0);
    } finally {
      await Promise.all([secret.shutdown(), redirector.shutdown()]);
    }
  });

  await t.step("anything else is refused; explicit types are checked", () => {
    assert.throws(() => new AgentImage("/tmp/cat.png"), /takes bytes \(Uint8Array\), a data: or https: URL/);
    assert.throws(() => new AgentImage(PNG, { mimeType: "not a type" }), /invalid media type/);
    assert.equal(new AgentImage(PNG, { mimeType: "Image/WebP; q=1" }).mimeType, "image/webp");
  });

  await t.step("save() writes the file under Deno, through node:fs too, and refuses without files", async () => {
    const dir = await Deno.makeTempDir({ prefix: "smolstep-types-" });
    const runtime = globalThis as { process?: unknown };
    const [writeFile, process] = [Deno.writeFile, runtime.process];
    try {
      await new AgentImage(PNG).save(`${dir}/a.png`);
      assert.deepEqual(await Deno.readFile(`${dir}/a.png`), PNG);
      Object.defineProperty(Deno, "writeFile", { value: undefined, configurable: true, writable: true });
      await new AgentImage(JPEG).save(`${dir}/b.jpg`);
      assert.deepEqual(await Deno.readFile(`${dir}/b.jpg`), JPEG);
      runtime.process = undefined;
      await assert.rejects(new AgentImage(PNG).save(`${dir}/c.png`), /needs a runtime with a file system/);
    } finally {
      Object.defineProperty(Deno, "writeFile", { value: writeFile, configurable: true, writable: true });
      runtime.process = process;
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("AgentAudio", async (t) => {
  const samples = Float32Array.from({ length: 800 }, (_, i) => Math.sin(i / 10) * 0.5);

  await t.step("from samples: toRaw() gives them back, the file is a 16-bit WAV at 16 kHz", async () => {
    const audio = new AgentAudio(samples);
    assert.equal(audio.toRaw(), samples);
    assert.equal(audio.samplerate, 16_000);
    assert.equal(audio.mimeType, "audio/wav");
    const wav = await audio.bytes();
    assert.equal(wav.length, 44 + 800 * 2);
    const decoded = decodeWav(wav);
    assert.equal(decoded.samplerate, 16_000);
    assert.ok(decoded.samples.every((s, i) => Math.abs(s - samples[i]) < 1 / 16_000));
  });

  await t.step("from a WAV file: toRaw() gives the bytes, samples() decodes with the header's rate", async () => {
    const wav = encodeWav(samples, 22_050);
    const audio = new AgentAudio(wav);
    assert.equal(audio.toRaw(), wav);
    assert.equal((await audio.samples()).length, 800);
    assert.equal(audio.samplerate, 22_050);
  });

  await t.step("WAV variants: 24-bit PCM and 32-bit float decode; others are refused", () => {
    const wav = encodeWav(new Float32Array(2), 8_000);
    const view = new DataView(wav.buffer);
    view.setUint16(20, 3, true); // float
    view.setUint16(34, 32, true);
    view.setFloat32(44, -0.25, true);
    assert.deepEqual(Array.from(decodeWav(wav).samples), [-0.25]);
    view.setUint16(20, 1, true);
    view.setUint16(34, 24, true);
    wav.set([0x00, 0x00, 0xc0], 44); // -0.5 in 24 bits
    assert.equal(decodeWav(wav).samples[0], -0.5);
    view.setUint16(20, 2, true); // ADPCM
    assert.throws(() => decodeWav(wav), /unsupported WAV encoding/);
    assert.throws(() => decodeWav(PNG), /not a WAV file/);
  });
});

Deno.test("wrapToolOutput and unwrapAgentValue over Deno KV blobs", async (t) => {
  await withKvBlobs(async (blobs) => {
    await t.step("string outputs become AgentText; objects as JSON", async () => {
      const text = await wrapToolOutput("sunny", "string", blobs);
      assert.ok(text instanceof AgentText && String(text) === "sunny");
      assert.equal(String(await wrapToolOutput({ temp: 21 }, "string")), '{"temp":21}');
      assert.equal(await wrapToolOutput(42, "number", blobs), 42);
    });

    await t.step("image bytes are stored and referenced; URLs stay URLs; no store keeps the bytes", async () => {
      const image = await wrapToolOutput(PNG, "image", blobs) as AgentImage;
      assert.ok(image instanceof AgentImage && isBlobRef(String(image)));
      assert.deepEqual((await blobs.resolve(String(image))).bytes, PNG);
      const remote = await wrapToolOutput("https://example.invalid/a.png", "image", blobs);
      assert.equal(String(remote), "https://example.invalid/a.png");
      assert.match(String(await wrapToolOutput(PNG, "image")), /not stored/);
      await assert.rejects(wrapToolOutput({ not: "an image" }, "image", blobs), TypeError);
    });

    await t.step("audio samples are stored as WAV; 'any' wraps by what the value is", async () => {
      const audio = await wrapToolOutput(new Float32Array([0, 0.5, -0.5]), "audio", blobs) as AgentAudio;
      assert.ok(audio instanceof AgentAudio && String(audio).endsWith(";type=audio/wav"));
      assert.ok((await wrapToolOutput(JPEG, "any", blobs)) instanceof AgentImage);
      assert.ok((await wrapToolOutput(encodeWav(new Float32Array(4), 16_000), "any", blobs)) instanceof AgentAudio);
      assert.ok((await wrapToolOutput("plain", undefined, blobs)) instanceof AgentText);
      assert.deepEqual(await wrapToolOutput(new Uint8Array([1, 2]), "any", blobs), new Uint8Array([1, 2]));
    });

    await t.step("too large an output fails as too_large", async () => {
      await rejectsWith(wrapToolOutput(new Uint8Array(600_000), "image", blobs), "too_large");
    });

    await t.step("inputs: refs and data: URLs become bytes by input type; other strings stay", async () => {
      const ref = await blobs.put(PNG, "image/png");
      assert.deepEqual(await unwrapAgentValue(ref, blobs, "image"), PNG);
      assert.deepEqual(await unwrapAgentValue(ref, blobs), PNG);
      assert.equal(await unwrapAgentValue(ref, blobs, "string"), ref);
      assert.deepEqual(await unwrapAgentValue(PNG_URL, undefined, ["image", "null"]), PNG);
      assert.equal(await unwrapAgentValue(PNG_URL, blobs, "string"), PNG_URL);
      assert.equal(
        await unwrapAgentValue("https://example.invalid/a.png", blobs, "image"),
        "https://example.invalid/a.png",
      );
      assert.equal(await unwrapAgentValue(new AgentText("hi"), blobs), "hi");
      assert.deepEqual(await unwrapAgentValue(new AgentImage(ref), blobs, "image"), PNG);
      await rejectsWith(unwrapAgentValue(ref, undefined, "image"), "no_store");
      await rejectsWith(unwrapAgentValue(`blob:sha256:${"a".repeat(64)}`, blobs, "image"), "not_found");
      const args = await unwrapToolArguments({ image: ref, caption: ref, n: 2 }, {
        image: { type: "image", description: "picture" },
        caption: { type: "string", description: "text" },
        n: { type: "integer", description: "count" },
      }, blobs);
      assert.deepEqual(args, { image: PNG, caption: ref, n: 2 });
    });
  });
});
