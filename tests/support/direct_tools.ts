import { z } from "zod";
import { tool } from "../../lib/mod.ts";

/** Tools for direct-call tests (`POST /v1/tools/{name}`, MCP `exposeTools`): one callable, one run-only. */
export function directCallTools() {
  const add = tool({
    name: "add",
    description: "Adds two numbers.",
    inputs: z.object({ a: z.number(), b: z.number() }),
    run: ({ a, b }) => String(a + b),
  });
  const secret = tool({
    name: "secret_op",
    description: "Only inside runs.",
    inputs: z.object({}),
    directCalls: false,
    run: () => "ran",
  });
  return { add, secret };
}
