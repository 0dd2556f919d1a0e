import assert from "node:assert/strict";
import denoJson from "../../deno.json" with { type: "json" };
import { npmPackagesOf } from "../../scripts/build_npm.ts";

const ROOT = new URL("../../", import.meta.url);

/** Per entry: names a user needs (present) and internals that must stay out (absent). */
const ENTRIES: Record<string, { present: string[]; absent?: string[] }> = {
  ".": {
    present: [
      "ToolCallingAgent",
      "CodeAgent",
      "MultiStepAgent",
      "ManagedAgent",
      "ReactJsonAgent",
      "ReactCodeAgent",
      "OpenAIServerModel",
      "OpenAIClientModel",
      "AzureOpenAIServerModel",
      "LiteLLMModel",
      "MLXModel",
      "Tool",
      "tool",
      "FinalAnswerTool",
      "UserInputTool",
      "Toolbox",
      "AgentImage",
      "AgentAudio",
      "AgentText",
      "QuickJSExecutor",
      "guardedFetch",
      "parseAgentState",
      "agentStateSchemas",
      "AgentError",
      "AgentGenerationError",
      "ConfigurationError",
      "VERSION",
    ],
    absent: [
      "parseJsonIfNeeded",
      "parseToolCallFromText",
      "signPayload",
      "verifyPayload",
      "RETRY_HINT",
      "memoryToMessages",
      "RunService",
      "BackgroundRunner",
      "StateTokenCodec",
      "withStepDeadline",
      "StepAdmission",
      "HttpError",
      "instrumentStore",
      "requestLog",
      "StepSpans",
      "tracedStep",
      "evaluateExpression",
      "wrapToolOutput",
      "parseCodeBlobs",
      "AgentStateSchema",
      // The HTTP server and what only it uses: `./server`.
      "createSmolstep",
      "createApp",
      "MemoryStore",
      "InProcessQueue",
      "Metrics",
      "createLogger",
      "parseLogLevel",
      "verifyWebhook",
      "signStandardWebhook",
      "StepTimeoutError",
      "ShuttingDownError",
      // Runtime and heavy backends live in their own entries.
      "CloudflareKvStore",
      "DenoKvStore",
      "InferenceClientModel",
      "HfApiEngine",
      "TransformersModel",
      "startScriptedModelServer",
      "MCPClient",
    ],
  },
  "./server": {
    present: [
      "createSmolstep",
      "createApp",
      "MemoryStore",
      "InProcessQueue",
      "canListKeys",
      "KeyListingError",
      "webCryptoTokenCipher",
      "isQueueMessage",
      "Metrics",
      "createLogger",
      "consoleJsonSink",
      "parseLogLevel",
      "LOG_LEVELS",
      "verifyWebhook",
      "signStandardWebhook",
      "WebhookVerificationError",
      "WEBHOOK_SCHEME_NAMES",
      "StepTimeoutError",
      "ShuttingDownError",
    ],
    // Agents, models and tools come from the main entry; the server entry does not repeat them.
    absent: ["ToolCallingAgent", "OpenAIServerModel", "Tool", "RunService", "HttpError", "requestLog"],
  },
  "./client": { present: ["createClient"] },
  "./deno": { present: ["DenoKvStore", "DenoKvQueue", "createDenoQuickJSExecutor", "denoResolveHost"] },
  "./cloudflare": {
    present: ["CloudflareKvStore", "DurableObjectStore", "SmolstepStateObject", "CloudflareQueue", "consumeQueueBatch"],
  },
  "./hf": { present: ["InferenceClientModel", "HfApiEngine"] },
  "./transformers": { present: ["TransformersModel", "TransformersEngine"] },
  "./pipelines": {
    present: ["PipelineTool", "loadTool", "SpeechToTextTool", "TextToSpeechTool", "TranslationTool"],
    absent: ["fromHub", "mediaBytes"],
  },
  "./langchain": { present: ["fromLangchain", "Tool", "LangchainTool"] },
  "./testing": { present: ["startScriptedModelServer", "toolCallReply", "functionModel"] },
  "./mcp": { present: ["MCPClient", "ToolCollection", "McpTool", "McpToolCollection"], absent: ["stdioServer"] },
  "./mcp/stdio": { present: ["stdioServer"] },
  "./mcp/server": { present: ["mcpServer", "RUN_ID_META"], absent: ["MCPClient", "runToFinalAnswer", "dispatch"] },
  "./hub": {
    present: [
      "Tool",
      "tool",
      "saveTool",
      "pushToolToHub",
      "toolFromHub",
      "MultiStepAgent",
      "pushAgentToHub",
      "agentFromHub",
      "ToolCollection",
      "GradioTool",
      "GradioError",
      "resolveSpaceUrl",
    ],
    absent: [
      "SandboxedTool",
      "sandboxProgram",
      "pushSpaceFiles",
      "downloadSpaceFile",
      "createRepo",
      "uploadFiles",
      "callEndpoint",
      "fetchApiInfo",
      "toolsFromCollection",
    ],
  },
};

/** npm packages the core entry must not load: heavy, optional, or Node-only. */
const HEAVY = [
  "@huggingface/transformers",
  "@huggingface/inference",
  "@huggingface/hub",
  "@opentelemetry/sdk-metrics",
  "onnxruntime-node",
  "@modelcontextprotocol/sdk",
  // The OpenAI-style backends speak the chat completions API with fetch (lib/models/openai_client_model.ts).
  "openai",
];

Deno.test("package entries", async (t) => {
  const exportsMap = denoJson.exports as Record<string, string>;

  await t.step("deno.json exports exactly the documented entries", () => {
    assert.deepEqual(Object.keys(exportsMap).sort(), Object.keys(ENTRIES).sort());
  });

  for (const [entry, { present, absent = [] }] of Object.entries(ENTRIES)) {
    await t.step(`${entry} exports what users need and no internals`, async () => {
      const module = await import(new URL(exportsMap[entry], ROOT).href);
      for (const name of present) assert.ok(name in module, `${entry} should export ${name}`);
      for (const name of absent) assert.ok(!(name in module), `${entry} should not export ${name}`);
    });
  }

  await t.step("the core entry imports no heavy optional dependency", async () => {
    const npm = [...await npmPackagesOf(exportsMap["."])];
    assert.ok(npm.includes("zod"), "the graph lists npm packages");
    for (const heavy of HEAVY) {
      assert.ok(!npm.includes(heavy), `${heavy} is reachable from lib/mod.ts`);
    }
  });

  await t.step(
    "the main entry loads none of the HTTP server: no lib/http/, lib/metrics/, lib/logging/, no hono",
    async () => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["info", "--json", exportsMap["."]],
        cwd: ROOT,
        stdout: "piped",
      }).output();
      const graph = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: { specifier: string }[] };
      const lib = new URL("lib/", ROOT).href;
      const local = graph.modules.map(({ specifier }) => specifier).filter((specifier) => specifier.startsWith(lib));
      assert.ok(local.some((specifier) => specifier.endsWith("/agents/tool_calling_agent.ts")), "the graph was read");
      const server = local.filter((specifier) => /\/lib\/(http|metrics|logging|webhooks)\//.test(specifier));
      assert.deepEqual(server.map((specifier) => specifier.slice(lib.length)), []);
      assert.ok(!(await npmPackagesOf(exportsMap["."])).has("hono"), "hono is reachable from lib/mod.ts");
      assert.ok((await npmPackagesOf(exportsMap["./server"])).has("hono"), "the server entry's graph lists hono");
    },
  );

  await t.step(
    "deno publish --dry-run passes: explicit types on the public API (no-slow-types), a license",
    async () => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["publish", "--dry-run", "--allow-dirty"],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      assert.ok(out.success, text);
      assert.doesNotMatch(text, /error\[|errors for slow types/);
    },
  );
});
