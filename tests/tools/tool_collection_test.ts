import assert from "node:assert/strict";
import { z } from "zod";
import { ToolCallingAgent, ToolCollection } from "../../lib/mod.ts";
import { tool } from "../../lib/tools/tool.ts";

Deno.test("ToolCollection holds its tools, and an agent takes them", () => {
  const echo = tool({
    name: "echo",
    description: "Echoes.",
    inputs: z.object({ text: z.string().describe("Text") }),
    output: "string",
    run: ({ text }) => text,
  });
  const source = [echo];
  const collection = new ToolCollection(source);
  source.pop();
  assert.deepEqual(collection.tools.map((t) => t.name), ["echo"], "a copy, not the caller's array");
  const agent = new ToolCallingAgent({ tools: collection.tools, model: () => "" });
  assert.ok(agent.tools.has("echo"));
});
