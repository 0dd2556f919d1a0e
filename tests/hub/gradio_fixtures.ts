/** API info as Gradio 5 describes an image-generation Space and a captioning endpoint (shapes of real `/info`). */

import type { GradioApiInfo } from "../../lib/hub/mod.ts";

/** A 1x1 PNG. */
export const PNG = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="),
  (c) => c.charCodeAt(0),
);

const IMAGE_DATA = {
  properties: {
    path: { anyOf: [{ type: "string" }, { type: "null" }], default: null, title: "Path" },
    url: { anyOf: [{ type: "string" }, { type: "null" }], default: null, title: "Url" },
    meta: { default: { _type: "gradio.FileData" }, title: "Meta", type: "object" },
  },
  title: "ImageData",
  type: "object",
};

export const IMAGE_APP_INFO: GradioApiInfo = {
  named_endpoints: {
    "/infer": {
      parameters: [
        {
          label: "Prompt",
          parameter_name: "prompt",
          parameter_has_default: false,
          parameter_default: null,
          type: { type: "string" },
          python_type: { type: "str", description: "" },
          component: "Textbox",
          example_input: "Hello!!",
        },
        {
          label: "Seed",
          parameter_name: "seed",
          parameter_has_default: true,
          parameter_default: 0,
          type: { type: "number" },
          python_type: { type: "float", description: "numeric value between 0 and 2147483647" },
          component: "Slider",
          example_input: 0,
        },
        {
          label: "Randomize seed",
          parameter_name: "randomize_seed",
          parameter_has_default: true,
          parameter_default: true,
          type: { type: "boolean" },
          python_type: { type: "bool", description: "" },
          component: "Checkbox",
          example_input: true,
        },
      ],
      returns: [
        { label: "Result", type: IMAGE_DATA, python_type: { type: "filepath", description: "" }, component: "Image" },
        {
          label: "Seed",
          type: { type: "number" },
          python_type: { type: "float", description: "" },
          component: "Slider",
        },
      ],
      show_api: true,
    },
    "/caption": {
      parameters: [
        {
          label: "Image",
          parameter_name: "image",
          parameter_has_default: false,
          parameter_default: null,
          type: IMAGE_DATA,
          python_type: { type: "filepath", description: "" },
          component: "Image",
          example_input: { path: "https://example.com/bus.png", meta: { _type: "gradio.FileData" } },
        },
      ],
      returns: [
        {
          label: "Caption",
          type: { type: "string" },
          python_type: { type: "str", description: "" },
          component: "Textbox",
        },
      ],
      show_api: true,
    },
  },
  unnamed_endpoints: {},
};
