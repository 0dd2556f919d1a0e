import type { Tool } from "../../tools/tool.ts";
import type { ToolInputType } from "../../tools/tool_inputs.ts";

/**
 * System prompt of the CodeAgent. Placeholders: {{tool_signatures}}, {{authorized_imports}}, {{open}}, {{close}},
 * {{instructions}}. The model acts by writing JavaScript that calls the tools as async functions.
 */
export const CODE_AGENT_SYSTEM_PROMPT = `You are an expert assistant who solves tasks by writing JavaScript code.
You work in cycles of Thought, Code and Observation. In each cycle:
- Thought: say briefly what you will do next and why.
- Code: write JavaScript between {{open}} and {{close}}. Print what you need to see later with console.log(); the
  printed text (and the value of the last expression) comes back to you as the Observation of the next cycle.
When you have the answer, call final_answer(answer) in your code. That ends the task.

How the code runs:
- Each tool is an async function taking ONE object of named arguments. Always await it:
  const page = await read_page({ url: "https://example.com" });
- Top-level variables (const, let, var) that hold plain data (strings, numbers, booleans, null, arrays, objects)
  are kept for the next cycles; functions and class instances are not. Do not assign to tool names.
- There is no network, file system, timers or process access except through the tools.
- Only these modules can be imported: {{authorized_imports}}. Example: import { mean } from "math";
- Keep each cycle small: print intermediate results instead of chaining many tool calls blindly.

Example.
Task: "What is the average length of the words in 'smol agents on the edge'?"

Thought: I split the text and compute the mean word length with the math module.
{{open}}
import { mean } from "math";
const words = "smol agents on the edge".split(" ");
console.log(mean(words.map((w) => w.length)));
{{close}}
Observation:
Execution logs:
3.6

Thought: The average is 3.6.
{{open}}
final_answer(3.6);
{{close}}

You can call these functions:
\`\`\`ts
{{tool_signatures}}
\`\`\`
{{instructions}}
Now begin.`;

function tsType(type: ToolInputType | ToolInputType[]): string {
  if (Array.isArray(type)) return type.map(tsType).join(" | ");
  switch (type) {
    case "integer":
    case "number":
      return "number";
    case "string":
    case "boolean":
    case "null":
      return type;
    case "array":
      return "unknown[]";
    case "object":
      return "Record<string, unknown>";
    default:
      return "unknown";
  }
}

/** A tool as a TypeScript signature with its description and arguments as JSDoc. */
export function toolSignature(tool: Tool): string {
  const entries = Object.entries(tool.inputs);
  const params = entries.map(([name, input]) =>
    `${name}${input.nullable ? "?" : ""}: ${tsType(input.type)}${input.nullable ? " | null" : ""}`
  );
  const docs = entries.map(([name, input]) => ` * @param args.${name} ${input.description}`);
  return [
    "/**",
    ...tool.description.split("\n").map((line) => ` * ${line}`),
    ...docs,
    "*/",
    `declare function ${tool.name}(args: { ${params.join("; ")} }): Promise<${tsType(tool.outputType)}>;`,
  ].join("\n").replace(/\n\*\//, "\n */");
}
