/**
 * A tool that calls one endpoint of a Gradio app (smolagents' `SpaceToolWrapper`). Its inputs come from the app's
 * API info; files and images given as bytes are uploaded first, https: URLs are passed for the app to fetch; the
 * first output is the result, a file in it fetched through the egress guard and returned as an `AgentImage` /
 * `AgentAudio` (so the agent stores it as a blob). Nothing is held open: each call is one HTTP exchange.
 */

import { Tool, type ToolContext } from "../tools/tool.ts";
import type { ToolInput, ToolInputs, ToolInputType } from "../tools/tool_inputs.ts";
import { AgentAudio } from "../types/agent_audio.ts";
import { AgentImage } from "../types/agent_image.ts";
import { sniffMediaType } from "../stores/media_type.ts";
import {
  callEndpoint,
  downloadFile,
  fileUrl,
  type GradioApiInfo,
  type GradioApiValue,
  type GradioConnection,
  type GradioEndpointInfo,
  GradioError,
  type GradioFileData,
  isFileData,
  uploadFiles,
} from "./gradio_client.ts";

export interface GradioToolOptions {
  /** The tool's name (an identifier); default from the app. */
  name?: string;
  /** What the model reads about the tool; default: the endpoint's description, or one naming the app. */
  description?: string;
  /** Which endpoint, e.g. `"/predict"`; default the first named endpoint the app shows in its API page. */
  apiName?: string;
}

const FILE_COMPONENTS = new Set(["File", "Video", "Model3D", "UploadButton", "SimpleImage", "ImageEditor"]);

/** The smolagents input type of a Gradio parameter. */
function inputType(value: GradioApiValue): ToolInputType {
  if (value.component === "Image") return "image";
  if (value.component === "Audio") return "audio";
  if (isFileParameter(value)) return "any";
  const type = value.type?.type;
  if (type === "string" || type === "number" || type === "integer" || type === "boolean" || type === "array") {
    return type;
  }
  return "any"; // objects too, as smolagents maps them
}

function isFileParameter(value: GradioApiValue): boolean {
  if (value.component === "Image" || value.component === "Audio") return true;
  if (value.component && FILE_COMPONENTS.has(value.component)) return true;
  const properties = value.type?.properties as Record<string, unknown> | undefined;
  return Boolean(properties && "path" in properties && "meta" in properties) || value.python_type?.type === "filepath";
}

/** The tool's inputs from an endpoint's parameters: names, types, descriptions; defaulted ones are nullable. */
export function inputsFromEndpoint(endpoint: GradioEndpointInfo): ToolInputs {
  const inputs: ToolInputs = {};
  endpoint.parameters.forEach((parameter, index) => {
    const input: ToolInput = {
      type: inputType(parameter),
      description: parameter.python_type?.description || parameter.type?.description || parameter.label ||
        parameter.component || "",
    };
    if (parameter.parameter_has_default) input.nullable = true;
    inputs[parameterName(parameter, index)] = input;
  });
  return inputs;
}

function parameterName(parameter: GradioApiValue, index: number): string {
  return parameter.parameter_name || `input_${index}`;
}

/** The output type from the endpoint's first return value (smolagents: Image, Audio, anything else "any"). */
function outputType(endpoint: GradioEndpointInfo): ToolInputType {
  const component = endpoint.returns[0]?.component;
  return component === "Image" ? "image" : component === "Audio" ? "audio" : "any";
}

/** Picks the endpoint: the one named, or the first the app shows. Throws naming the ones there are. */
export function pickEndpoint(info: GradioApiInfo, apiName?: string): [string, GradioEndpointInfo] {
  const named = Object.entries(info.named_endpoints);
  if (apiName !== undefined) {
    const wanted = apiName.startsWith("/") ? apiName : `/${apiName}`;
    const found = named.find(([name]) => name === wanted);
    if (found) return found;
    throw new GradioError(
      `the app has no endpoint ${wanted}; it has ${named.map(([name]) => name).join(", ") || "none"}`,
    );
  }
  const first = named.find(([, endpoint]) => endpoint.show_api !== false) ?? named[0];
  if (!first) throw new GradioError("the app has no named endpoint");
  return first;
}

/**
 * Bytes as a file to upload, typed and named by what they are (`file.png`): Gradio's components read the
 * extension of the path the upload answers.
 */
function namedFile(value: Uint8Array | ArrayBuffer | Blob): Blob {
  if (value instanceof File) return value;
  if (value instanceof Blob && value.type) return new File([value], `file.${extensionOf(value.type)}`, value);
  const bytes = value instanceof Uint8Array ? value : value instanceof ArrayBuffer ? new Uint8Array(value) : undefined;
  const type = bytes ? sniffMediaType(bytes) : undefined;
  if (!type) return value instanceof Blob ? value : new Blob([bytes as Uint8Array<ArrayBuffer>]);
  return new File([bytes as Uint8Array<ArrayBuffer>], `file.${extensionOf(type)}`, { type });
}

function extensionOf(mimeType: string): string {
  const subtype = mimeType.split("/")[1]?.split(/[;+]/)[0] ?? "bin";
  return ({ jpeg: "jpg", mpeg: "mp3", "x-wav": "wav", wave: "wav" } as Record<string, string>)[subtype] ??
    subtype.replace(/^x-/, "");
}

/** A tool name from a Space id or URL: its last part, as an identifier. */
export function toolNameFrom(text: string): string {
  const last = text.replace(/\/+$/, "").split("/").pop() ?? "";
  const name = last.replace(/[^A-Za-z0-9_]/g, "_").replace(/^(?=\d)/, "_");
  return name || "gradio_app";
}

/** A connected endpoint: where the app is, and what the endpoint takes and gives. */
export interface GradioEndpoint {
  connection: GradioConnection;
  apiName: string;
  endpoint: GradioEndpointInfo;
}

/** What a `GradioTool` is made of: its description for the model, and how it reaches its endpoint. */
export interface GradioToolSpec {
  name: string;
  description: string;
  inputs: ToolInputs;
  outputType: ToolInputType;
  /** The endpoint called (when known before connecting). */
  apiName?: string;
  /** Resolves the app and its endpoint; called at the first call (again after a failure), once per tool. */
  connect: (signal?: AbortSignal) => Promise<GradioEndpoint>;
}

/**
 * The inputs of a tool declared up front, checked against the endpoint once connected: each must be one of its
 * parameters, and every parameter without a default must be among them.
 */
export function checkDeclaredInputs(inputs: ToolInputs, { apiName, endpoint }: GradioEndpoint): void {
  const names = endpoint.parameters.map(parameterName);
  const unknown = Object.keys(inputs).find((name) => !names.includes(name));
  if (unknown !== undefined) {
    throw new GradioError(`input '${unknown}' is not a parameter of ${apiName} (it takes ${names.join(", ")})`);
  }
  const missing = endpoint.parameters.find((parameter, index) =>
    !parameter.parameter_has_default && !(parameterName(parameter, index) in inputs)
  );
  if (missing) {
    throw new GradioError(
      `${apiName} needs '${parameterName(missing, endpoint.parameters.indexOf(missing))}', which is not an input`,
    );
  }
}

/** The spec of a tool whose endpoint is already known (its inputs and output type come from the API info). */
export function specFromEndpoint(
  resolved: GradioEndpoint,
  options: { name: string; description?: string; defaultDescription: string },
): GradioToolSpec {
  return {
    name: options.name,
    description: options.description ?? resolved.endpoint.description ?? options.defaultDescription,
    inputs: inputsFromEndpoint(resolved.endpoint),
    outputType: outputType(resolved.endpoint),
    apiName: resolved.apiName,
    connect: () => Promise.resolve(resolved),
  };
}

export class GradioTool extends Tool<Record<string, unknown>, unknown> {
  readonly name: string;
  readonly description: string;
  readonly inputs: ToolInputs;
  readonly outputType: ToolInputType;
  /** The endpoint called, e.g. `/predict` (undefined for a declared tool that takes the first, until connected). */
  get apiName(): string | undefined {
    return this.#apiName;
  }
  #apiName: string | undefined;
  readonly #connect: GradioToolSpec["connect"];
  #connected: Promise<GradioEndpoint> | undefined;

  constructor(spec: GradioToolSpec) {
    super();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(spec.name)) {
      throw new TypeError(`Tool name '${spec.name}' must be a valid identifier (letters, digits, underscores).`);
    }
    this.name = spec.name;
    this.description = spec.description;
    this.inputs = spec.inputs;
    this.outputType = spec.outputType;
    this.#apiName = spec.apiName;
    this.#connect = spec.connect;
  }

  async forward(args: Record<string, unknown>, { signal }: ToolContext): Promise<unknown> {
    const resolved = await this.#endpoint(signal);
    const data = await this.#payload(resolved, args, signal);
    const outputs = await callEndpoint(resolved.connection, resolved.apiName, data, signal);
    return await this.#result(resolved, outputs[0], signal);
  }

  /** Connects once per tool (per isolate); a failed attempt is forgotten so the next call tries again. */
  #endpoint(signal?: AbortSignal): Promise<GradioEndpoint> {
    this.#connected ??= this.#connect(signal).then((resolved) => {
      this.#apiName = resolved.apiName;
      return resolved;
    }, (error) => {
      this.#connected = undefined;
      throw error;
    });
    return this.#connected;
  }

  /** The positional data list: given values (files uploaded), defaults for the rest. */
  async #payload(
    { connection, endpoint }: GradioEndpoint,
    args: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<unknown[]> {
    const data: unknown[] = [];
    const uploads: Array<{ index: number; blob: Blob }> = [];
    endpoint.parameters.forEach((parameter, index) => {
      const value = args[parameterName(parameter, index)];
      if (value === undefined || value === null) {
        data.push(parameter.parameter_has_default ? parameter.parameter_default ?? null : null);
      } else if (value instanceof Uint8Array || value instanceof ArrayBuffer || value instanceof Blob) {
        uploads.push({ index, blob: namedFile(value) });
        data.push(null);
      } else if (typeof value === "string" && isFileParameter(parameter) && /^https?:\/\//i.test(value)) {
        data.push({ path: value, meta: { _type: "gradio.FileData" } } satisfies GradioFileData);
      } else data.push(value);
    });
    if (uploads.length) {
      const files = await uploadFiles(connection, uploads.map(({ blob }) => blob), signal);
      uploads.forEach(({ index }, i) => data[index] = files[i]);
    }
    return data;
  }

  /** The first output as an agent value: files fetched (images and audio as agent types), the rest as it is. */
  async #result({ connection, apiName }: GradioEndpoint, output: unknown, signal?: AbortSignal): Promise<unknown> {
    if (!isFileData(output)) {
      if (this.outputType === "image" || this.outputType === "audio") {
        throw new GradioError(`${apiName} returned no file for its ${this.outputType} output`);
      }
      return output;
    }
    const kind = this.outputType !== "any" ? this.outputType : output.mime_type?.split("/")[0];
    if (kind !== "image" && kind !== "audio") return fileUrl(connection, output); // other files: their URL
    const { bytes, mimeType } = await downloadFile(connection, output, signal);
    const options = mimeType && mimeType.startsWith(`${kind}/`) ? { mimeType } : {};
    return kind === "image" ? new AgentImage(bytes, options) : new AgentAudio(bytes, options);
  }
}
