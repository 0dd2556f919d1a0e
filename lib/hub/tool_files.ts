/**
 * A tool as files, as smolagents lays out a tool repository: `tool.json` (name, description, inputs, outputType),
 * `tool.js` (the tool module, see tool_module.ts) and a `README.md` with Hub Space front matter.
 */

import type { Tool } from "../tools/tool.ts";
import { checkInputType, type ToolInputs, type ToolInputType } from "../tools/tool_inputs.ts";
import { VERSION } from "../version.ts";
import { checkToolModule, ToolModuleError } from "./tool_module.ts";

/** `tool.json`. */
export interface ToolManifest {
  name: string;
  description: string;
  inputs: ToolInputs;
  outputType: ToolInputType;
}

export const TOOL_FILES = { manifest: "tool.json", module: "tool.js", readme: "README.md" } as const;

/** The three files of a tool, by path, as text. `code` is its tool.js module source (already checked). */
export function toolFiles(tool: Tool, code: string): Record<string, string> {
  const manifest: ToolManifest = {
    name: tool.name,
    description: tool.description,
    inputs: tool.inputs,
    outputType: tool.outputType,
  };
  return {
    [TOOL_FILES.manifest]: JSON.stringify(manifest, null, 2) + "\n",
    [TOOL_FILES.module]: checkToolModule(code),
    [TOOL_FILES.readme]: toolReadme(manifest),
  };
}

function toolReadme(manifest: ToolManifest): string {
  const inputs = Object.entries(manifest.inputs)
    .map(([name, input]) => `- \`${name}\` (${[input.type].flat().join(" | ")}): ${input.description}`)
    .join("\n");
  return [
    "---",
    `title: ${JSON.stringify(manifest.name)}`,
    "emoji: ⚡",
    "colorFrom: pink",
    "colorTo: yellow",
    "sdk: static",
    "pinned: false",
    "tags:",
    "- tool",
    "- smolstep",
    "---",
    "",
    `# ${manifest.name}`,
    "",
    manifest.description,
    "",
    "## Inputs",
    "",
    inputs || "(none)",
    "",
    `Output: \`${manifest.outputType}\``,
    "",
    `A smolstep ${VERSION} tool: \`tool.js\` runs in smolstep's QuickJS sandbox. Load it with`,
    "`Tool.fromHub(repoId, { trustRemoteCode: true, executor })` from `@smolstep/smolstep/hub`.",
    "",
  ].join("\n");
}

/** Parses and checks `tool.json`. */
export function parseToolManifest(text: string, repoId: string): ToolManifest {
  let value: Partial<ToolManifest>;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ToolModuleError(`tool.json of '${repoId}' is not JSON.`);
  }
  const { name, description, inputs, outputType } = value ?? {};
  if (typeof name !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new ToolModuleError(`tool.json of '${repoId}': 'name' must be an identifier.`);
  }
  if (typeof description !== "string") throw new ToolModuleError(`tool.json of '${repoId}': 'description' missing.`);
  if (typeof inputs !== "object" || inputs === null || Array.isArray(inputs)) {
    throw new ToolModuleError(`tool.json of '${repoId}': 'inputs' must be an object.`);
  }
  for (const [input, spec] of Object.entries(inputs)) checkInputType(input, spec?.type);
  checkInputType("outputType", outputType);
  return { name, description, inputs, outputType: outputType as ToolInputType };
}
