import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";

/** An agent with no tools whose model is never reached (port 9, discard): for tests of routes that call no model. */
export function idleAgent(name = "a"): ToolCallingAgent {
  return new ToolCallingAgent({
    name,
    model: new OpenAIServerModel({ modelId: "m", apiBase: "http://127.0.0.1:9", apiKey: "k", maxRetries: 0 }),
    tools: [],
  });
}
