import assert from "node:assert/strict";
import { AgentToolCallError, type Tool, ToolCallingAgent } from "../../lib/mod.ts";
import { PipelineTool } from "../../lib/pipelines/mod.ts";
import { functionModel } from "../support/function_model.ts";

/** A user's own PipelineTool: the "model" reverses token ids. */
class Reverser extends PipelineTool<{ text: string; times?: number }, string, { ids: number[] }, number[]> {
  readonly name = "reverser";
  readonly description = "Reverses text.";
  readonly inputs = {
    text: { type: "string" as const, description: "the text" },
    times: { type: "integer" as const, description: "how often", nullable: true },
  };
  readonly outputType = "string" as const;
  readonly defaultCheckpoint = "me/reverser";
  setups = 0;
  log: string[] = [];

  override async setup() {
    this.setups++;
    await new Promise((resolve) => setTimeout(resolve, 5));
    super.setup();
  }
  encode(args: { text: string }) {
    this.log.push(`encode:${args.text}`);
    return { ids: [...args.text].map((c) => c.charCodeAt(0)) };
  }
  forward(inputs: { ids: number[] }) {
    this.log.push(`forward:${this.model}`);
    return [...inputs.ids].reverse();
  }
  decode(outputs: number[]) {
    this.log.push("decode");
    return String.fromCharCode(...outputs);
  }
}

Deno.test("PipelineTool", async (t) => {
  await t.step(
    "call = validate, setup once (lazily, shared by concurrent calls), encode, forward, decode",
    async () => {
      const tool = new Reverser();
      assert.equal(tool.setups, 0);
      assert.equal(tool.model, undefined);
      const [a, b] = await Promise.all([tool.call({ text: "abc" }), tool.call({ text: "xy", times: null })]);
      assert.deepEqual([a, b], ["cba", "yx"]);
      assert.equal(tool.setups, 1);
      assert.equal(tool.isInitialized, true);
      assert.equal(tool.model, "me/reverser");
      assert.equal(tool.preProcessor, "me/reverser");
      assert.equal(tool.postProcessor, "me/reverser");
      tool.log.length = 0;
      assert.equal(await tool.call({ text: "ok" }), "ko");
      assert.deepEqual(tool.log, ["encode:ok", "forward:me/reverser", "decode"]);
      assert.equal(tool.setups, 1);
    },
  );

  await t.step("constructor checkpoints win; the post-processor defaults to the pre-processor", async () => {
    const tool = new (class extends Reverser {})({ model: "other/model", preProcessor: "other/tokenizer" });
    await tool.call({ text: "a" });
    assert.deepEqual([tool.model, tool.preProcessor, tool.postProcessor], [
      "other/model",
      "other/tokenizer",
      "other/tokenizer",
    ]);
  });

  await t.step("invalid arguments are an AgentToolCallError before setup", async () => {
    const tool = new Reverser();
    await assert.rejects(tool.call({ text: 3 }), AgentToolCallError);
    assert.equal(tool.setups, 0);
  });

  await t.step("it is a Tool an agent calls", async () => {
    const tool: Tool = new Reverser();
    const { model } = functionModel([
      { calls: [["reverser", { text: "olleh" }]] },
      { calls: [["final_answer", { answer: "hello" }]] },
    ]);
    const result = await new ToolCallingAgent({ tools: [tool], model }).run("?", { returnFullResult: true });
    assert.equal((result.steps[1] as { observations?: string }).observations, "hello");
  });
});
