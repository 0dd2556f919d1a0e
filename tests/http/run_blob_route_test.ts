/**
 * `GET /v1/runs/{runId}/blobs/{sha256}` over loopback: a run's images, audio and long texts come back with the media
 * type their bytes have; the route needs the API key; a digest the run does not refer to, another run's blob, a
 * stateless run's shared blob and path tricks are all 404; a text that looks like HTML is a download, never a page.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { OpenAIServerModel, tool, ToolCallingAgent } from "../../lib/mod.ts";
import { createApp, MemoryStore } from "../../lib/server.ts";
import { BlobStore } from "../../lib/stores/blob_store.ts";
import { createClient } from "../../lib/client.ts";
import { apiClient } from "../support/http_client.ts";
import { idleAgent } from "../support/idle_agent.ts";
import { drawTool, PNG_4X3, speakTool, WAV_TONE } from "../support/media_tools.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const KEY = "blob-route-key";
const HTML = "<html><body><script>alert(document.domain)</script>" + "x".repeat(6_000) + "</body></html>";

const pageTool = tool({
  name: "fetch_page",
  description: "Returns a long page.",
  inputs: z.object({}),
  run: () => HTML,
});

const digestsIn = (value: unknown) =>
  [...JSON.stringify(value).matchAll(/blob:sha256:([0-9a-f]{64})/g)].map((m) => m[1]);

Deno.test("GET /v1/runs/{runId}/blobs/{sha256}: a run's own blobs, typed by their bytes, and nothing else", async (t) => {
  const model = await startScriptedModelServer();
  const store = new MemoryStore();
  const app = createApp({
    agents: {
      media: new ToolCallingAgent({
        name: "media",
        model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
        tools: [drawTool, speakTool, pageTool],
      }),
    },
    store,
    secret: "blob-route-secret-0123456789",
    apiKeys: [KEY],
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const api = apiClient(base, { apiKey: KEY });
  const get = (path: string, key: string | null = KEY) =>
    fetch(base + path, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
  const runWith = async (task: string, ...replies: ReturnType<typeof toolCallReply>[]) => {
    model.enqueue(...replies);
    const { body: run } = await api.post("/v1/agents/media/runs", { task });
    for (let i = 0; i < replies.length; i++) assert.equal((await api.post(`/v1/runs/${run.runId}/steps`)).status, 200);
    return (await api.get(`/v1/runs/${run.runId}`)).body;
  };

  try {
    const run = await runWith(
      "draw, speak, read",
      toolCallReply("draw", { subject: "a cat" }),
      toolCallReply("speak", { text: "hello" }),
      toolCallReply("fetch_page", {}),
      toolCallReply("final_answer", { answer: "done" }),
    );
    assert.equal(run.status, "succeeded");
    const [png, wav, page] = [...new Set(digestsIn(run.steps))];
    assert.ok(png && wav && page, JSON.stringify(run.steps));

    await t.step("images and audio come back inline, with their type and nosniff", async () => {
      for (const [digest, bytes, type] of [[png, PNG_4X3, "image/png"], [wav, WAV_TONE, "audio/wav"]] as const) {
        const response = await get(`/v1/runs/${run.runId}/blobs/${digest}`);
        assert.equal(response.status, 200);
        assert.equal(response.headers.get("Content-Type"), type);
        assert.equal(response.headers.get("X-Content-Type-Options"), "nosniff");
        assert.equal(response.headers.get("Content-Disposition"), "inline");
        assert.match(response.headers.get("Content-Security-Policy") ?? "", /sandbox/);
        assert.deepEqual(new Uint8Array(await response.arrayBuffer()), bytes);
      }
    });

    await t.step("a long text that looks like HTML is plain text, as a download", async () => {
      const response = await get(`/v1/runs/${run.runId}/blobs/${page}`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("Content-Type"), "text/plain; charset=utf-8");
      assert.equal(response.headers.get("X-Content-Type-Options"), "nosniff");
      assert.equal(response.headers.get("Content-Disposition"), `attachment; filename="${page.slice(0, 16)}.txt"`);
      assert.equal(await response.text(), HTML);
    });

    await t.step("the typed client reads a blob by its ref", async () => {
      const client = createClient({ baseUrl: base, apiKey: KEY });
      const blob = await client.getBlob(run.runId, `blob:sha256:${png};type=image/png`);
      assert.equal(blob.type, "image/png");
      assert.deepEqual(new Uint8Array(await blob.arrayBuffer()), PNG_4X3);
      await assert.rejects(client.getBlob(run.runId, "0".repeat(64)), { code: "blob_not_found", status: 404 });
    });

    await t.step("without the API key (or with a wrong one): 401", async () => {
      for (const key of [null, "wrong-key"]) {
        const response = await get(`/v1/runs/${run.runId}/blobs/${png}`, key);
        assert.equal(response.status, 401);
        await response.body?.cancel();
      }
    });

    await t.step("unknown digests and runs: 404 with the JSON error", async () => {
      const cases: Array<[string, string]> = [
        [`/v1/runs/${run.runId}/blobs/${"a".repeat(64)}`, "blob_not_found"],
        [`/v1/runs/${run.runId}/blobs/${png.toUpperCase()}`, "blob_not_found"],
        [`/v1/runs/${run.runId}/blobs/${png}x`, "blob_not_found"],
        [`/v1/runs/no-such-run/blobs/${png}`, "run_not_found"],
      ];
      for (const [path, code] of cases) {
        const response = await get(path);
        assert.equal(response.status, 404, path);
        assert.equal((await response.json()).error.code, code, path);
      }
    });

    await t.step("path tricks reach no other key", async () => {
      for (
        const path of [
          `/v1/runs/${run.runId}/blobs/..%2F..%2Fblobs%2F${png}`,
          `/v1/runs/${run.runId}/blobs/${encodeURIComponent(`blob:sha256:${png}`)}`,
          `/v1/runs/${encodeURIComponent(`${run.runId}/blobs/x/../..`)}/blobs/${png}`,
          `/v1/runs/${run.runId}%2Fblobs%2F${png}/blobs/${png}`,
          `/v1/runs/${run.runId}/blobs/${png}/..`,
        ]
      ) {
        const response = await get(path);
        assert.equal(response.status, 404, path);
        await response.body?.cancel();
      }
    });

    await t.step("another run cannot read this run's blob, even naming its ref, before and after a step", async () => {
      model.enqueue(toolCallReply("final_answer", { answer: "seen" }));
      const { body: other } = await api.post("/v1/agents/media/runs", {
        task: `Describe blob:sha256:${png};type=image/png and blob:sha256:${wav}`,
      });
      for (const digest of [png, wav]) assert.equal((await get(`/v1/runs/${other.runId}/blobs/${digest}`)).status, 404);
      assert.equal((await api.post(`/v1/runs/${other.runId}/steps`)).status, 200);
      assert.ok(digestsIn((await api.get(`/v1/runs/${other.runId}`)).body.task).includes(png));
      for (const digest of [png, wav]) {
        const response = await get(`/v1/runs/${other.runId}/blobs/${digest}`);
        assert.equal(response.status, 404);
        assert.equal((await response.json()).error.code, "blob_not_found");
      }
      // The owner still reads it.
      assert.equal((await get(`/v1/runs/${run.runId}/blobs/${png}`)).status, 200);
    });

    await t.step("a stateless run's shared blob is not readable through a KV run that names it", async () => {
      const shared = await new BlobStore(store).put(new TextEncoder().encode("a stateless secret"), "text/plain");
      const digest = digestsIn(shared)[0];
      const { body: other } = await api.post("/v1/agents/media/runs", { task: `Read ${shared}` });
      const before = await get(`/v1/runs/${other.runId}/blobs/${digest}`);
      assert.equal(before.status, 404);
      assert.equal((await before.json()).error.code, "blob_not_found");
      // A commit that renews the run's blobs (here: as if the run had been active for more than blobSeconds / 2)
      // rewrites the blobs the record names: only its own, none copied from the shared prefix.
      const stored = (await store.get(`runs/${other.runId}`))!;
      const record = JSON.parse(stored.value);
      assert.ok(record.blobsUntil > Date.now());
      await store.put(`runs/${other.runId}`, JSON.stringify({ ...record, blobsUntil: 1 }));
      model.enqueue(toolCallReply("final_answer", { answer: "read" }));
      assert.equal((await api.post(`/v1/runs/${other.runId}/steps`)).status, 200);
      const after = await get(`/v1/runs/${other.runId}/blobs/${digest}`);
      assert.equal(after.status, 404);
      assert.equal((await after.json()).error.code, "blob_not_found");
      assert.equal(await store.get(`runs/${other.runId}/blobs/${digest}`), null);
      assert.ok(JSON.parse((await store.get(`runs/${other.runId}`))!.value).blobsUntil > Date.now(), "renewed");
    });

    await t.step("the OpenAPI document describes the route, its media types and its 404", async () => {
      const doc = await (await fetch(`${base}/openapi.json`)).json();
      const op = doc.paths["/v1/runs/{runId}/blobs/{sha256}"].get;
      assert.deepEqual(op.security, [{ apiKey: [] }]);
      assert.deepEqual(Object.keys(op.responses[200].content), [
        "image/*",
        "audio/*",
        "text/plain",
        "application/octet-stream",
      ]);
      const codes = op.responses[404].content["application/json"].schema.allOf[1].properties.error.properties.code.enum;
      assert.deepEqual([...codes].sort(), ["blob_not_found", "run_not_found"]);
    });

    await t.step("a deleted run's blobs are gone", async () => {
      assert.equal((await api.delete(`/v1/runs/${run.runId}`)).status, 204);
      const response = await get(`/v1/runs/${run.runId}/blobs/${png}`);
      assert.equal(response.status, 404);
      assert.equal((await response.json()).error.code, "run_not_found");
    });
  } finally {
    await server.shutdown();
    await model.close();
  }
});

Deno.test("the blob route needs a store: 501 without one", async () => {
  const app = createApp({
    agents: { a: idleAgent() },
    secret: "blob-route-secret-0123456789",
  });
  const response = await app.request(`/v1/runs/r/blobs/${"a".repeat(64)}`);
  assert.equal(response.status, 501);
  assert.equal((await response.json()).error.code, "store_not_configured");
});
