import assert from "node:assert/strict";
import { MCPClient, McpTool, ToolCollection } from "../../lib/mcp/mod.ts";
import { stdioServer } from "../../lib/adapters/node/mcp_stdio.ts";
import { ToolCollection as CoreToolCollection } from "../../lib/tools/tool_collection.ts";
import { AgentToolCallError, AgentToolExecutionError, ConfigurationError } from "../../lib/errors.ts";
import { EgressError } from "../../lib/net/egress.ts";
import { AgentAudio, AgentImage, AgentText } from "../../lib/types/agent_types.ts";
import { invokeTool } from "../../lib/agents/tool_invocation.ts";
import { PNG_BASE64, startHttpMcpServer, startSseMcpServer } from "../support/mcp_servers.ts";
import { base64ToBytes } from "../../lib/base64.ts";

const LOOPBACK = { allowPrivateNetwork: true };

function byName(tools: McpTool[], name: string): McpTool {
  const found = tools.find((tool) => tool.name === name);
  assert.ok(found, `tool ${name} in ${tools.map((tool) => tool.name)}`);
  return found;
}

Deno.test("ToolCollection.fromMcp refuses without trustRemoteCode, as smolagents", async () => {
  for (const options of [{}, { trustRemoteCode: false }] as { trustRemoteCode: boolean }[]) {
    await assert.rejects(
      ToolCollection.fromMcp({ url: "https://mcp.example.com/mcp" }, options),
      (error: Error) => error instanceof ConfigurationError && /trustRemoteCode: true/.test(error.message),
    );
  }
});

Deno.test("MCP over Streamable HTTP (the SDK's server on loopback)", async (t) => {
  const server = startHttpMcpServer();
  const params = { url: server.url, egress: LOOPBACK };
  const collection = await ToolCollection.fromMcp(params, { trustRemoteCode: true });
  const tools = collection.tools;
  try {
    await t.step("fromMcp lists the tools; a collection is the core ToolCollection", () => {
      assert.ok(collection instanceof CoreToolCollection);
      assert.deepEqual(tools.map((tool) => tool.name).sort(), [
        "add",
        "beep",
        "fail",
        "read_note",
        "snapshot",
        "stats",
        "weather_report",
      ]);
      const weather = byName(tools, "weather_report");
      assert.equal(weather.remoteName, "weather-report");
      assert.equal(weather.description, "The weather in a city.");
      assert.deepEqual(weather.inputs, {
        city: { type: "string", description: "the city" },
        unit: { type: "string", description: "", nullable: true },
      });
      assert.deepEqual(byName(tools, "add").parameters.required, ["a", "b"]);
      assert.equal(byName(tools, "add").parameters.additionalProperties, false);
    });

    await t.step("input schemas validate arguments before anything is sent", async () => {
      const before = server.calls.length;
      await assert.rejects(byName(tools, "add").call({ a: "two", b: 3 }), AgentToolCallError);
      await assert.rejects(byName(tools, "weather_report").call({ city: "Oslo", unit: "k" }), AgentToolCallError);
      await assert.rejects(
        byName(tools, "add").call({ a: 1, b: 2, c: 3 }),
        (error: Error) => error instanceof AgentToolCallError && /unknown argument 'c'/.test(error.message),
      );
      assert.equal(server.calls.length, before);
    });

    await t.step("text results are AgentText", async () => {
      const sum = await byName(tools, "add").call({ a: 2, b: 3 });
      assert.ok(sum instanceof AgentText);
      assert.equal(String(sum), "5");
      assert.equal(
        String(await byName(tools, "weather_report").call({ city: "Oslo", unit: null })),
        "Sunny in Oslo, 21 c",
      );
      assert.deepEqual(server.calls.at(-1), { name: "weather-report", args: { city: "Oslo" } });
    });

    await t.step("image and audio results are AgentImage and AgentAudio with the bytes", async () => {
      const image = await byName(tools, "snapshot").call({});
      assert.ok(image instanceof AgentImage);
      assert.deepEqual(await image.bytes(), base64ToBytes(PNG_BASE64));
      assert.equal(image.mimeType, "image/png");
      const audio = await byName(tools, "beep").call({});
      assert.ok(audio instanceof AgentAudio);
      assert.equal((await audio.bytes()).length, 44 + 320);
    });

    await t.step("resources: embedded text and links become text", async () => {
      const note = await byName(tools, "read_note").call({});
      assert.ok(note instanceof AgentText);
      assert.equal(String(note), "buy milk\n[resource note://2]");
    });

    await t.step("an isError result is a tool error with the server's text", async () => {
      await assert.rejects(
        byName(tools, "fail").call({}),
        (error: Error) =>
          error instanceof AgentToolExecutionError && /MCP tool 'fail' failed: the disk is full/.test(error.message),
      );
    });

    await t.step("a protocol error (unknown tool on the server) is a tool error", async () => {
      const ghost = new McpTool(params, { name: "ghost", inputSchema: { type: "object" } });
      await assert.rejects(
        ghost.call({}),
        (error: Error) =>
          error instanceof AgentToolExecutionError && /MCP tool 'ghost' failed: .*ghost/.test(error.message),
      );
    });

    await t.step("through invokeTool (the agents' path), results are stored as blob references", async () => {
      const stored = new Map<string, Uint8Array>();
      const blobs = {
        put: (bytes: Uint8Array) => {
          const ref = `blob:sha256:${stored.size.toString().padStart(64, "0")}`;
          stored.set(ref, bytes);
          return Promise.resolve(ref);
        },
        get: (ref: string) => Promise.resolve(stored.get(ref) ?? null),
      };
      // deno-lint-ignore no-explicit-any
      const image = await invokeTool(byName(tools, "snapshot"), {}, { blobs: blobs as any });
      assert.ok(image instanceof AgentImage);
    });

    await t.step("structuredOutput: a tool with an output schema answers its structured content", async () => {
      const client = await new MCPClient(params, { structuredOutput: true }).connect();
      const stats = byName(client.getTools(), "stats");
      assert.equal(stats.outputType, "object");
      assert.deepEqual(await stats.call({}), { count: 3 });
      assert.equal(byName(client.getTools(), "add").outputType, "any");
    });

    await t.step("the server ended every session: the next call reconnects and succeeds", async () => {
      await server.endSessions();
      assert.equal(server.sessions(), 0);
      assert.equal(String(await byName(tools, "add").call({ a: 1, b: 1 })), "2");
      assert.equal(server.sessions(), 1);
    });

    await t.step("the server ended every session: listing the tools again reconnects", async () => {
      await server.endSessions();
      const again = await ToolCollection.fromMcp(params, { trustRemoteCode: true });
      assert.equal(again.tools.length, 7);
      assert.equal(server.sessions(), 1);
    });

    await t.step("after close(), a tool opens a new connection (nothing live is needed to call it)", async () => {
      await collection.close();
      assert.equal(String(await byName(tools, "add").call({ a: 4, b: 4 })), "8");
    });

    await t.step("tools rebuilt from their definitions alone (a restart) call the same server", async () => {
      const rebuilt = new McpTool(params, {
        name: "add",
        inputSchema: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } } },
      });
      assert.equal(String(await rebuilt.call({ a: 10, b: 5 })), "15");
    });

    await t.step("MCPClient: getTools before connect throws; connect, getTools, close", async () => {
      const client = new MCPClient([params]);
      assert.throws(() => client.getTools(), ConfigurationError);
      await client.connect();
      assert.equal(client.getTools().length, 7);
      await client.close();
    });
  } finally {
    await collection.close();
    await server.close();
  }
});

Deno.test("MCP egress: a loopback server is refused unless the egress policy allows private networks", async () => {
  const server = startHttpMcpServer();
  try {
    await assert.rejects(new MCPClient({ url: server.url }).connect(), EgressError);
    await assert.rejects(
      new MCPClient({ url: server.url.replace("http:", "https:"), egress: {} }).connect(),
      EgressError,
    );
    assert.equal(server.sessions(), 0, "nothing reached the server");
    // A connection opened with the loopback opt-in is never shared with the same server configured without it.
    const allowed = await new MCPClient({ url: server.url, egress: LOOPBACK }).connect();
    await assert.rejects(new MCPClient({ url: server.url }).connect(), EgressError);
    await allowed.close();
    await assert.rejects(new MCPClient({ url: "http://169.254.169.254/mcp", egress: LOOPBACK }).connect(), EgressError);
  } finally {
    await server.close();
  }
});

Deno.test("MCP over legacy HTTP+SSE (the SDK's SSEServerTransport)", async () => {
  const server = await startSseMcpServer();
  const collection = await ToolCollection.fromMcp({ url: server.url, transport: "sse", egress: LOOPBACK }, {
    trustRemoteCode: true,
  });
  try {
    assert.equal(collection.tools.length, 7);
    assert.equal(String(await byName(collection.tools, "add").call({ a: 20, b: 22 })), "42");
    assert.ok(await byName(collection.tools, "snapshot").call({}) instanceof AgentImage);
    assert.deepEqual(server.calls.map((call) => call.name), ["add", "snapshot"]);
  } finally {
    await collection.close();
    await server.close();
  }
});

Deno.test("MCP over stdio (a child process running the SDK's StdioServerTransport)", async () => {
  const server = stdioServer({
    command: Deno.execPath(),
    args: ["run", "-A", new URL("../support/mcp_stdio_server.ts", import.meta.url).pathname],
    stderr: "ignore",
  });
  const collection = await ToolCollection.fromMcp(server, { trustRemoteCode: true });
  try {
    assert.equal(collection.tools.length, 7);
    assert.equal(String(await byName(collection.tools, "add").call({ a: 1, b: 2 })), "3");
    await assert.rejects(byName(collection.tools, "fail").call({}), /the disk is full/);
    await collection.close();
    // The process is gone; the next call starts it again.
    assert.equal(String(await byName(collection.tools, "add").call({ a: 2, b: 2 })), "4");
  } finally {
    await collection.close();
  }
});
