/**
 * loadTool's five tasks, remote, against a loopback server speaking the Hugging Face inference API's shapes for
 * each task as `@huggingface/inference` sends and reads them (POST {endpoint}/models/{model}).
 */

import assert from "node:assert/strict";
import { AgentAudio, AgentText, ConfigurationError, EgressError, type Tool, ToolCallingAgent } from "../../lib/mod.ts";
import { encodeWav } from "../../lib/types/wav.ts";
import { loadTool, PipelineTool, SpeechToTextTool, TranslationTool } from "../../lib/pipelines/mod.ts";
import { functionModel } from "../support/function_model.ts";

type Seen = { path: string; auth: string | null; type: string | null; body: Uint8Array };

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
const WAV = encodeWav(new Float32Array([0, 0.5, -0.5, 0]), 16_000);

function startInferenceServer() {
  const seen: Seen[] = [];
  const json = (value: unknown) => Response.json(value);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const path = new URL(request.url).pathname;
    const body = new Uint8Array(await request.arrayBuffer());
    seen.push({ path, auth: request.headers.get("authorization"), type: request.headers.get("content-type"), body });
    const text = () => JSON.parse(new TextDecoder().decode(body));
    if (request.method !== "POST") return new Response("method", { status: 405 });
    if (path === "/models/naver-clova-ix/donut-base-finetuned-docvqa") {
      const { inputs } = text();
      return json([{ answer: `doc:${inputs.question}:${inputs.image}`, score: 0.9, start: 0, end: 1 }]);
    }
    if (path === "/models/dandelin/vilt-b32-finetuned-vqa") {
      const { inputs } = text();
      return json([{ answer: `vqa:${inputs.question}:${inputs.image}`, score: 0.8 }]);
    }
    if (path === "/models/distil-whisper/distil-large-v3") return json({ text: `heard ${body.length} bytes` });
    if (path === "/models/microsoft/speecht5_tts") {
      return new Response(WAV as Uint8Array<ArrayBuffer>, { headers: { "content-type": "audio/wav" } });
    }
    if (path.startsWith("/models/facebook/nllb-200-distilled-600M")) {
      const { inputs, parameters } = text();
      return json([{ translation_text: `${parameters.tgt_lang}(${inputs})` }]);
    }
    if (path === "/models/broken/model") return json({ error: "Model is overloaded" });
    return Response.json({ error: `no route ${path}` }, { status: 404 });
  });
  const endpoint = `http://127.0.0.1:${server.addr.port}`;
  return { seen, endpoint, close: () => server.shutdown() };
}

Deno.test("loadTool remote tasks against a loopback inference API", async (t) => {
  const api = startInferenceServer();
  const remote = { endpoint: api.endpoint, token: "hf_test", egress: { allowPrivateNetwork: true } };
  try {
    await t.step("document_question_answering: JSON {inputs: {question, image: base64}}, answer[0]", async () => {
      const tool = await loadTool("document_question_answering", remote);
      assert.ok(tool instanceof PipelineTool);
      assert.equal(tool.name, "document_qa");
      assert.equal(tool.isInitialized, false);
      const answer = await tool.call({ document: PNG, question: "total?" });
      assert.ok(answer instanceof AgentText);
      assert.equal(String(answer), `doc:total?:${btoa(String.fromCharCode(...PNG))}`);
      const request = api.seen.at(-1)!;
      assert.equal(request.auth, "Bearer hf_test");
      assert.equal(request.type, "application/json");
      assert.equal(tool.isInitialized, true);
      assert.equal(tool.model, "naver-clova-ix/donut-base-finetuned-docvqa");
      assert.equal(tool.preProcessor, tool.model);
      assert.equal(tool.postProcessor, tool.model);
    });

    await t.step("image_question_answering: visual-question-answering shape", async () => {
      const tool = await loadTool("image_question_answering", remote);
      const answer = await tool.call({ image: PNG, question: "color?" });
      assert.equal(String(answer), `vqa:color?:${btoa(String.fromCharCode(...PNG))}`);
    });

    await t.step("speech_to_text: the audio file is the body, {text} back", async () => {
      const tool = await loadTool("speech_to_text", remote);
      assert.ok(tool instanceof SpeechToTextTool);
      assert.equal(tool.name, "transcriber");
      assert.equal(String(await tool.call({ audio: WAV })), `heard ${WAV.length} bytes`);
      const request = api.seen.at(-1)!;
      assert.deepEqual(request.body, WAV);
      assert.equal(request.type, "audio/wav");
      // An AgentAudio argument (a direct call) works too.
      assert.equal(String(await tool.call({ audio: new AgentAudio(WAV) })), `heard ${WAV.length} bytes`);
    });

    await t.step(
      "addBaseTools takes the loaded speech tool: the agent has transcriber beside the web tools",
      async () => {
        const transcriber = await loadTool("speech_to_text", remote);
        const agent = new ToolCallingAgent({ model: () => "", addBaseTools: { speechToText: transcriber } });
        assert.equal(agent.tools.get("transcriber"), transcriber);
        for (const name of ["web_search", "visit_webpage", "wikipedia_search"]) assert.ok(agent.tools.has(name), name);
      },
    );

    await t.step("text_to_speech: JSON {inputs: text}, the audio file back as AgentAudio", async () => {
      const tool = await loadTool("text_to_speech", remote);
      const audio = await tool.call({ text: "hello" });
      assert.ok(audio instanceof AgentAudio);
      assert.equal(audio.mimeType, "audio/wav");
      assert.deepEqual(await audio.bytes(), WAV);
      assert.equal((await audio.samples()).length, 4);
      assert.deepEqual(JSON.parse(new TextDecoder().decode(api.seen.at(-1)!.body)), { inputs: "hello" });
    });

    await t.step("translation: plain language names become NLLB codes in parameters", async () => {
      const tool = await loadTool("translation", remote);
      assert.ok(tool instanceof TranslationTool);
      const text = await tool.call({ text: "Bonjour", src_lang: "French", tgt_lang: "English" });
      assert.equal(String(text), "eng_Latn(Bonjour)");
      assert.deepEqual(JSON.parse(new TextDecoder().decode(api.seen.at(-1)!.body)), {
        inputs: "Bonjour",
        parameters: { src_lang: "fra_Latn", tgt_lang: "eng_Latn" },
      });
      await assert.rejects(tool.call({ text: "x", src_lang: "Klingon", tgt_lang: "English" }), /not a known language/);
    });

    await t.step("modelRepoId picks another checkpoint (its URL)", async () => {
      const tool = await loadTool("translation", { ...remote, modelRepoId: "broken/model" });
      await assert.rejects(tool.call({ text: "x", src_lang: "French", tgt_lang: "English" }), /malformed/);
      assert.equal(api.seen.at(-1)!.path, "/models/broken/model");
      assert.equal(tool.model, "broken/model");
    });

    await t.step("the egress guard refuses the loopback endpoint without the opt-in", async () => {
      const tool = await loadTool("translation", { endpoint: api.endpoint });
      const before = api.seen.length;
      await assert.rejects(tool.call({ text: "x", src_lang: "French", tgt_lang: "English" }), EgressError);
      assert.equal(api.seen.length, before);
    });

    await t.step("an agent run calls a loaded tool", async () => {
      const translator = await loadTool("translation", remote);
      const { model } = functionModel([
        { calls: [["translator", { text: "Hallo Welt", src_lang: "German", tgt_lang: "English" }]] },
        { calls: [["final_answer", { answer: "done" }]] },
      ]);
      const agent = new ToolCallingAgent({ tools: [translator], model });
      const result = await agent.run("Translate 'Hallo Welt' to English", { returnFullResult: true });
      assert.equal(result.state, "succeeded");
      assert.match(JSON.stringify(result.steps), /eng_Latn\(Hallo Welt\)/);
    });
  } finally {
    await api.close();
  }
});

Deno.test("loadTool without a task name", async (t) => {
  await t.step("a repo id goes to the fromHub loader with token and trustRemoteCode", async () => {
    const calls: unknown[] = [];
    const hubTool = { name: "hub_tool" } as unknown as Tool;
    const loaded = await loadTool("someone/my-tool", {
      token: "hf_x",
      trustRemoteCode: true,
      fromHub: (repoId, options) => {
        calls.push([repoId, options]);
        return hubTool;
      },
    });
    assert.equal(loaded, hubTool);
    assert.deepEqual(calls, [["someone/my-tool", { token: "hf_x", trustRemoteCode: true }]]);
  });

  await t.step("without fromHub: a ConfigurationError naming the hub entry", async () => {
    await assert.rejects(loadTool("someone/my-tool"), (error: Error) => {
      assert.ok(error instanceof ConfigurationError);
      assert.match(error.message, /Tool\.fromHub.*@smolstep\/smolstep\/hub/);
      return true;
    });
  });

  await t.step("endpoint and provider together are refused", async () => {
    await assert.rejects(
      loadTool("translation", { endpoint: "https://x.example", provider: "auto" }),
      ConfigurationError,
    );
  });

  await t.step("local: true is refused on Cloudflare Workers at load time", async () => {
    Object.defineProperty(navigator, "userAgent", { value: "Cloudflare-Workers", configurable: true });
    try {
      await assert.rejects(loadTool("speech_to_text", { local: true }), (error: Error) => {
        assert.ok(error instanceof ConfigurationError);
        assert.match(error.message, /local: true needs Deno or Node/);
        assert.match(error.message, /Cloudflare Workers/);
        return true;
      });
    } finally {
      delete (navigator as { userAgent?: string }).userAgent;
    }
  });

  await t.step("image_question_answering has no local pipeline: a clear error on the first call", async () => {
    const tool = await loadTool("image_question_answering", { local: true });
    await assert.rejects(tool.call({ image: PNG, question: "?" }), /no pipeline for this task/);
  });
});
