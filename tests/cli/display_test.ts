import assert from "node:assert/strict";
import fc from "fast-check";
import { palette, stripAnsi } from "../../cli/display/ansi.ts";
import { highlightJs } from "../../cli/display/highlight.ts";
import { StepPrinter } from "../../cli/display/step_printer.ts";

const colors = palette(true);

Deno.test("highlightJs", async (t) => {
  await t.step("keywords, calls, strings, template literals, numbers, literals and comments", () => {
    const code = 'const n = await count(`a ${b}`, 0x1F, 2.5e3); // why\nif (n === null) return "no"; /* x */';
    const out = highlightJs(code, colors);
    const m = (open: number, text: string, close = 39) => `\x1b[${open}m${text}\x1b[${close}m`;
    for (
      const piece of [
        m(35, "const"),
        m(35, "await"),
        m(34, "count") + "(",
        m(32, "`a ${b}`"),
        m(36, "0x1F"),
        m(36, "2.5e3"),
        m(2, "// why", 22),
        m(35, "if"),
        m(36, "null"),
        m(35, "return"),
        m(32, '"no"'),
        m(2, "/* x */", 22),
      ]
    ) assert.ok(out.includes(piece), `${JSON.stringify(piece)} in ${JSON.stringify(out)}`);
    assert.ok(!out.includes(m(34, "n")), "a variable stays plain");
  });

  await t.step("without colours the code is returned as it is", () => {
    assert.equal(highlightJs("const x = 1;", palette(false)), "const x = 1;");
  });

  await t.step("stripping the colours gives back any text, unchanged (unterminated strings and comments too)", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), (code) => stripAnsi(highlightJs(code, colors)) === code));
    for (const code of ['"open', "`tmpl ${", "/* never closed", "x = 'a\\'b"]) {
      assert.equal(stripAnsi(highlightJs(code, colors)), code);
    }
  });
});

Deno.test("StepPrinter without colours writes no escape codes, and shows a plan, an error and a question", () => {
  let text = "";
  const printer = new StepPrinter((chunk) => text += chunk, palette(false), false);
  printer.start({ task: "t", agent: "a", kind: "ToolCallingAgent" });
  printer.working();
  const timing = { startTime: 0, endTime: 1500, durationMs: 1500 };
  printer.event({
    type: "step",
    agent: "a",
    step: { type: "planning", plan: "1. look", modelOutput: "1. look", timing, tokenUsage: null },
  });
  printer.event({ type: "delta", agent: "a/helper", stepNumber: 1, text: "Thinking" });
  printer.event({
    type: "step",
    agent: "a/helper",
    step: {
      type: "action",
      stepNumber: 1,
      modelOutput: "Thinking",
      toolCalls: [{ id: "1", name: "echo", arguments: { text: "x" } }],
      observations: null,
      error: { type: "AgentToolExecutionError", message: "boom" },
      isFinalAnswer: false,
      timing,
      tokenUsage: { inputTokens: 1234, outputTokens: 5 },
    },
  });
  printer.event({ type: "awaiting_input", agent: "a", pending: { kind: "question", question: "Why?", callId: "c" } });
  assert.ok(!text.includes("\x1b"), text);
  assert.equal(
    text,
    [
      "New run a (ToolCallingAgent)",
      "t",
      "━━━ Plan ━━━",
      "1. look",
      "[Plan: Duration 1.50 seconds]",
      "━━━ a/helper · Step 1 ━━━",
      "Thinking",
      '→ echo({"text":"x"})',
      "Error (AgentToolExecutionError): boom",
      "[Step 1: Duration 1.50 seconds | Input tokens: 1,234 | Output tokens: 5]",
      "? The agent asks: Why?",
      "",
    ].join("\n"),
  );
});
