/**
 * What `@smolstep/smolstep/pipelines` weighs in an edge bundle: esbuild (the bundler wrangler uses) with the
 * Workers conditions, nothing marked external. transformers.js and ONNX Runtime must stay out (the local path
 * imports them by a name in a variable; Workers refuse `local: true` anyway); `@huggingface/inference` is most of
 * the rest.
 */

import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = new URL("../../", import.meta.url);
/** Measured 202 KiB gzip for the entry alone (zod and the core files it uses included); the budget leaves 10%. */
const PIPELINES_GZIP_BUDGET_KIB = 225;

Deno.test("the ./pipelines entry bundles for Workers without transformers.js, within its budget", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smolstep-pipelines-bundle-" });
  try {
    const input = join(dir, "in.ts");
    const output = join(dir, "out.js");
    await Deno.writeTextFile(
      input,
      `export * from ${JSON.stringify(new URL("lib/pipelines/mod.ts", ROOT).pathname)};\n`,
    );
    const build = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "npm:esbuild@0.28.2",
        "--bundle",
        "--minify",
        "--format=esm",
        "--platform=browser",
        "--conditions=workerd,worker,browser",
        "--external:node:*",
        "--log-level=error",
        input,
        `--outfile=${output}`,
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(build.success, new TextDecoder().decode(build.stderr));
    const bytes = await Deno.readFile(output);
    const text = new TextDecoder().decode(bytes);
    assert.ok(!text.includes("InferenceSession"), "ONNX Runtime reached the bundle");
    assert.ok(!text.includes("AutoModelForTextToWaveform"), "transformers.js reached the bundle");
    assert.ok(text.includes("router.huggingface.co"), "the remote path is in the bundle");
    const gzip = await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip")))
      .arrayBuffer();
    const kib = gzip.byteLength / 1024;
    console.log(`./pipelines bundle: ${(bytes.length / 1024).toFixed(1)} KiB, ${kib.toFixed(1)} KiB gzip`);
    assert.ok(kib <= PIPELINES_GZIP_BUDGET_KIB, `${kib.toFixed(1)} KiB gzip is over ${PIPELINES_GZIP_BUDGET_KIB} KiB`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
