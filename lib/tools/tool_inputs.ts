import * as z from "zod";

/** smolagents' tool input types. `image` and `audio` travel as references (strings) or raw data. */
export type ToolInputType =
  | "string"
  | "boolean"
  | "integer"
  | "number"
  | "image"
  | "audio"
  | "array"
  | "object"
  | "any"
  | "null";

/** One named input, as smolagents writes them: `{ type, description, nullable? }`. */
export interface ToolInput {
  type: ToolInputType | ToolInputType[];
  description: string;
  /** A nullable input may be omitted or `null`. */
  nullable?: boolean;
}

export type ToolInputs = Record<string, ToolInput>;

function schemaForType(type: ToolInputType): z.ZodType {
  switch (type) {
    case "string":
      return z.string();
    case "boolean":
      return z.boolean();
    case "integer":
      return z.number().int();
    case "number":
      return z.number();
    case "array":
      return z.array(z.unknown());
    case "object":
      return z.record(z.string(), z.unknown());
    case "null":
      return z.null();
    case "image":
    case "audio":
    case "any":
      return z.unknown();
  }
}

const INPUT_TYPES: readonly string[] = [
  "string",
  "boolean",
  "integer",
  "number",
  "image",
  "audio",
  "array",
  "object",
  "any",
  "null",
];

/**
 * Checks an input's `type` as smolagents validates a tool's inputs: a known type name, or a list of them. Throws a
 * `TypeError` naming the input (and, for an unknown name, the allowed ones).
 */
export function checkInputType(name: string, type: unknown): ToolInputType[] {
  if (Array.isArray(type)) {
    if (!type.every((entry) => typeof entry === "string")) {
      throw new TypeError(
        `Input '${name}': when type is a list, all elements must be strings, got ${JSON.stringify(type)}`,
      );
    }
  } else if (typeof type !== "string") {
    throw new TypeError(`Input '${name}': type must be a string or list of strings, got ${JSON.stringify(type)}`);
  }
  const types = (Array.isArray(type) ? type : [type]) as string[];
  const unknown = types.find((entry) => !INPUT_TYPES.includes(entry));
  if (unknown !== undefined) {
    throw new TypeError(`Input '${name}': type '${unknown}' is not valid; it must be one of ${INPUT_TYPES.join(", ")}`);
  }
  return types as ToolInputType[];
}

/**
 * Builds the strict zod object schema that validates arguments given as a smolagents-style inputs record. An input
 * with an unknown type throws a `TypeError` (see `checkInputType`).
 */
export function zodFromInputs(inputs: ToolInputs): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, input] of Object.entries(inputs)) {
    const types = checkInputType(name, input.type);
    let schema = types.length === 1
      ? schemaForType(types[0])
      : z.union(types.map(schemaForType) as [z.ZodType, z.ZodType, ...z.ZodType[]]);
    if (input.nullable) schema = schema.nullable().optional();
    shape[name] = schema.describe(input.description);
  }
  return z.strictObject(shape);
}

type JsonSchema = {
  type?: string | string[];
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
};

function typeFromJsonSchema(schema: JsonSchema): { type: ToolInputType | ToolInputType[]; nullable: boolean } {
  const variants = schema.anyOf ?? (Array.isArray(schema.type) ? schema.type.map((type) => ({ type })) : [schema]);
  const types = new Set<ToolInputType>();
  let nullable = false;
  for (const variant of variants) {
    const type = typeof variant.type === "string" ? variant.type : undefined;
    if (type === "null") nullable = true;
    else if (type && ["string", "boolean", "integer", "number", "array", "object"].includes(type)) {
      types.add(type as ToolInputType);
    } else types.add("any");
  }
  const list = [...types];
  return { type: list.length === 1 ? list[0] : list.length === 0 ? "null" : list, nullable };
}

/** Describes a zod object schema as a smolagents-style inputs record (for prompts and listings). */
export function inputsFromZod(schema: z.ZodObject): ToolInputs {
  // `io: "input"`: what a caller may send, so a defaulted argument is optional (nullable, as in smolagents).
  return inputsFromJsonSchema(z.toJSONSchema(schema, { unrepresentable: "any", io: "input" }));
}

/** Describes a JSON Schema object (`properties`, `required`) as a smolagents-style inputs record. */
export function inputsFromJsonSchema(schema: Record<string, unknown>): ToolInputs {
  const json = schema as JsonSchema;
  const required = new Set(json.required ?? []);
  const inputs: ToolInputs = {};
  for (const [name, property] of Object.entries(json.properties ?? {})) {
    const { type, nullable } = typeFromJsonSchema(property);
    inputs[name] = {
      type,
      description: property.description ?? "",
      ...(nullable || !required.has(name) ? { nullable: true } : {}),
    };
  }
  return inputs;
}
