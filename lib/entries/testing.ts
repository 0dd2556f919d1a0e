/**
 * `@smolstep/smolstep/testing`: test your agents offline. `startScriptedModelServer` is a real OpenAI-compatible
 * chat completions server on loopback that replays the replies you script (text, tool calls, errors, delays,
 * streaming), so an agent runs through the same model client it uses in production; `functionModel` is an in-process
 * scripted model for unit tests of agent logic. Deno and Node.
 *
 * ```ts
 * import { OpenAIServerModel, ToolCallingAgent } from "@smolstep/smolstep";
 * import { startScriptedModelServer, toolCallReply } from "@smolstep/smolstep/testing";
 *
 * await using server = await startScriptedModelServer({
 *   replies: [toolCallReply("final_answer", { answer: "4" })],
 * });
 * const model = new OpenAIServerModel({ modelId: "m", apiBase: server.url, apiKey: "test" });
 * const agent = new ToolCallingAgent({ tools: [], model });
 * console.log(await agent.run("2 + 2?")); // "4"
 * ```
 *
 * @module
 */

export { approxTokens, startScriptedModelServer, toolCallReply } from "../testing/scripted_model_server.ts";
export type {
  ReceivedRequest,
  ReplyHandler,
  ScriptedModelServer,
  ScriptedModelServerOptions,
  ScriptedReply,
  ScriptedReplyObject,
  ScriptedRequestBody,
  ScriptedToolCall,
} from "../testing/scripted_model_server.ts";
export { functionModel } from "../testing/function_model.ts";
export type { FunctionModel, FunctionReply } from "../testing/function_model.ts";
