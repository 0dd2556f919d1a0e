/**
 * TransformersModel / TransformersEngine through the real transformers.js pipeline and ONNX Runtime, offline, on
 * the lookup-table model in tests/support/tiny_model/ (see tests/support/make_tiny_model.ts for what it writes).
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { pipeline } from "@huggingface/transformers";
import { type ActionStep, type ChatMessage, CodeAgent, ConfigurationError, tool } from "../../lib/mod.ts";
import { createDenoQuickJSExecutor } from "../../lib/adapters/deno/quickjs_wasm_deno.ts";
import { mergeStreamDeltas } from "../../lib/models/message_utils.ts";
import { TransformersEngine, TransformersModel } from "../../lib/models/transformers_model.ts";
import { FIRST_TURN, LATER_TURN } from "../support/make_tiny_model.ts";

const TINY = fileURLToPath(new URL("../support/tiny_model", import.meta.url));
const hi: ChatMessage[] = [{ role: "user", content: "Hi" }];
/** A final assistant message is continued: after a letter the tiny model recites the alphabet. */
const alphabet: ChatMessage[] = [{ role: "user", content: "Recite." }, { role: "assistant", content: "a" }];
const firstTurn = FIRST_TURN.join("");

async function collect(model: TransformersModel, messages: ChatMessage[], options = {}) {
  const deltas = [];
  for await (const delta of model.generateStream(messages, options)) deltas.push(delta);
  return deltas;
}

Deno.test("TransformersModel on the tiny model (offline, real pipeline)", async (t) => {
  const model = new TransformersModel({ modelId: TINY, maxNewTokens: 40 });

  await t.step("loads from the local folder and answers through the chat template", async () => {
    const reply = await model.generate(hi);
    assert.equal(reply.content, firstTurn);
    // <|user|> H i <|end|> <|assistant|>; five phrases then <|end|>.
    assert.deepEqual(reply.tokenUsage, { inputTokens: 5, outputTokens: 6 });
    const later = await model.generate([...hi, { role: "assistant", content: "x" }, {
      role: "tool-response",
      content: "y",
    }]);
    assert.equal(later.content, LATER_TURN.join(""), "the template rendered the earlier assistant turn");
  });

  await t.step("content parts are flattened to text by default", async () => {
    const reply = await model.generate([{ role: "user", content: [{ type: "text", text: "Recite." }] }, {
      role: "assistant",
      content: [{ type: "text", text: "a" }, { type: "image", image: "data:image/png;base64,AAAA" }],
    }]);
    assert.equal(reply.content, "bcdefghijklmnopqrstuvwxyzabcdefghijklmno");
  });

  await t.step("stop sequences end generation, not just the text", async () => {
    const free = await model.generate(alphabet);
    assert.equal(free.tokenUsage?.outputTokens, 40, "no stop: runs to maxNewTokens");
    const stopped = await model.generate(alphabet, { stopSequences: ["xyz", "never"] });
    assert.equal(stopped.content, "bcdefghijklmnopqrstuvw");
    assert.equal(stopped.tokenUsage?.outputTokens, 25, "b..z: stopped as soon as 'xyz' was complete");
    const across = await model.generate(hi, { stopSequences: ["tool.\n<co"] });
    assert.equal(across.content, "Thought: I will add the numbers with the add ");
    assert.equal(across.tokenUsage?.outputTokens, 2, "a stop sequence spanning two tokens");
  });

  await t.step("streamed deltas add up to generate()'s reply, stop sequences held back", async () => {
    for (const [messages, stopSequences] of [[hi, []], [hi, ["</code>"]], [alphabet, ["xyz"]]] as const) {
      const options = { stopSequences: [...stopSequences] };
      const deltas = await collect(model, messages, options);
      assert.deepEqual(mergeStreamDeltas(deltas), await model.generate(messages, options));
      assert.ok(deltas.filter((d) => d.content).length > 1, "several text deltas");
      assert.ok(deltas.at(-1)?.tokenUsage && !deltas.at(-1)?.content, "usage comes last");
    }
    const pieces = (await collect(model, alphabet, { stopSequences: ["xyz"] })).map((d) => d.content ?? "");
    assert.ok(pieces.every((piece) => !piece.includes("x")), "the start of a stop sequence is never sent");
  });

  await t.step("one load per instance, shared by concurrent first calls", async () => {
    let loads = 0;
    class Counting extends TransformersModel {
      protected override loadBackend() {
        loads++;
        return super.loadBackend();
      }
    }
    const counting = new Counting({ modelId: TINY, maxNewTokens: 8 });
    const replies = await Promise.all([counting.generate(hi), counting.generate(alphabet), counting.load()]);
    assert.equal(loads, 1);
    assert.equal(replies[1]?.content, "bcdefghi");
    await counting.dispose();
  });

  await model.dispose();
});

Deno.test("TransformersModel: AbortSignal stops generation", async (t) => {
  const model = new TransformersModel({ modelId: TINY, maxNewTokens: 1_000_000 });
  await model.load();

  await t.step("an aborted signal rejects before generating", async () => {
    const reason = new Error("cancelled before");
    await assert.rejects(model.generate(hi, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
  });

  await t.step("aborting mid-stream ends the stream with the reason", async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const delta of model.generateStream(alphabet, { signal: controller.signal })) {
        seen.push(delta.content ?? "");
        if (seen.length === 3) controller.abort(new Error("enough"));
      }
    }, /enough/);
    assert.equal(seen.join("").slice(0, 3), "bcd");
  });

  await t.step("generate() rejects with the reason (a million tokens would take minutes)", async () => {
    const reason = new Error("timeout");
    await assert.rejects(model.generate(alphabet, { signal: AbortSignal.timeout(50) }), { name: "TimeoutError" });
    const controller = new AbortController();
    const pending = model.generate(alphabet, { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 20);
    await assert.rejects(pending, (e) => e === reason);
  });

  await t.step("a consumer that stops reading ends generation; the model stays usable", async () => {
    for await (const delta of model.generateStream(alphabet)) if (delta.content) break;
    const reply = await model.generate(hi);
    assert.equal(reply.content, firstTurn);
  });

  await model.dispose();
});

Deno.test("TransformersModel: configuration errors are clear", async (t) => {
  await t.step("a missing folder", async () => {
    const model = new TransformersModel({ modelId: `${TINY}-missing` });
    await assert.rejects(model.generate(hi), (error: Error) => {
      assert.ok(error instanceof ConfigurationError);
      assert.match(error.message, /no model folder at ".*tiny_model-missing"/);
      return true;
    });
  });

  await t.step("a folder that is not a model", async () => {
    const model = new TransformersModel({ modelId: fileURLToPath(new URL(".", import.meta.url)) });
    await assert.rejects(model.generate(hi), /lacks config\.json, tokenizer\.json, tokenizer_config\.json/);
  });

  await t.step("a localModelPath that lacks the model", async () => {
    const model = new TransformersModel({ modelId: "tiny_model", localModelPath: `${TINY}/../nowhere` });
    await assert.rejects(model.generate(hi), /no model folder at ".*nowhere\/tiny_model"/);
  });

  await t.step("localModelPath resolves Hub-style ids to folders", async () => {
    const model = new TransformersModel({ modelId: "tiny_model", localModelPath: `${TINY}/..`, maxNewTokens: 3 });
    assert.equal((await model.generate(alphabet)).content, "bcd");
    await model.dispose();
  });

  await t.step("Cloudflare Workers are refused before anything loads", async () => {
    Object.defineProperty(navigator, "userAgent", { value: "Cloudflare-Workers", configurable: true });
    try {
      await assert.rejects(new TransformersModel({ modelId: TINY }).generate(hi), (error: Error) => {
        assert.ok(error instanceof ConfigurationError);
        assert.match(error.message, /cannot run on Cloudflare Workers/);
        return true;
      });
    } finally {
      delete (navigator as { userAgent?: string }).userAgent;
    }
  });

  await t.step("options are checked", async () => {
    assert.throws(() => new TransformersModel({ modelId: "" }), ConfigurationError);
    assert.throws(() => new TransformersModel({ modelId: TINY, maxNewTokens: 0 }), /maxNewTokens/);
    const model = new TransformersModel({ modelId: TINY });
    await assert.rejects(model.generate(hi, { responseFormat: { type: "json_object" } }), /not supported/);
  });
});

Deno.test("TransformersEngine wraps a pipeline you built", async () => {
  const pipe = await pipeline("text-generation", TINY, { local_files_only: true });
  const engine = new TransformersEngine(pipe, "tiny", { maxNewTokens: 5 });
  assert.equal(engine.modelId, "tiny");
  assert.equal(engine.pipeline, pipe);
  assert.equal((await engine.generate(alphabet)).content, "bcdef");
  assert.equal((await engine.generate(hi, { stopSequences: ["<code>"] })).content, `${FIRST_TURN[0]}\n`);
  await engine.dispose(); // not the engine's pipeline: still usable
  const [out] = await pipe(alphabet as never, { max_new_tokens: 2 }) as Array<{ generated_text: ChatMessage[] }>;
  assert.equal(out.generated_text.at(-1)?.content, "bc");
  assert.throws(() => new TransformersEngine({} as never), ConfigurationError);
  await pipe.dispose();
});

Deno.test("a CodeAgent run on the tiny model: tool call, variable kept, final answer", async () => {
  const add = tool({
    name: "add",
    description: "Adds two numbers.",
    inputs: z.object({ a: z.number(), b: z.number() }),
    output: "number",
    run: ({ a, b }) => a + b,
  });
  const model = new TransformersModel({ modelId: TINY, maxNewTokens: 64 });
  const agent = new CodeAgent({ model, tools: [add], executor: createDenoQuickJSExecutor(), maxSteps: 4 });
  const result = await agent.run("What is 40 + 2?", { returnFullResult: true });
  assert.equal(result.output, 42);
  const actions = result.steps.filter((step) => (step as ActionStep).type === "action") as ActionStep[];
  assert.equal(actions.length, 2);
  assert.equal(actions[0].code, "const total = await add({ a: 40, b: 2 });\nconsole.log(total);");
  assert.equal(actions[0].observations, "Execution logs:\n42\n");
  assert.match(actions[0].modelOutput!, /<\/code>$/);
  assert.equal(actions[1].code, "final_answer(total);");
  assert.equal(actions[1].isFinalAnswer, true);
  assert.ok(actions.every((step) => (step.tokenUsage?.inputTokens ?? 0) > 1000), "the whole prompt was tokenized");
  await model.dispose();
});
