import { createDenoQuickJSExecutor } from "/work/wt/polish/lib/adapters/deno/quickjs_wasm_deno.ts";
import { CodeAgent } from "/work/wt/polish/lib/mod.ts";
import { functionModel } from "/work/wt/polish/tests/support/function_model.ts";
const executor = createDenoQuickJSExecutor({ timeLimitMs: 2_000 });
const { model: subModel, calls: subCalls } = functionModel(["<code>\nfinal_answer(city);\n</code>"]);
const sub = new CodeAgent({ name: "helper", description: "helps", model: subModel, executor });
const { model } = functionModel([
  '<code>\nconst r = await helper("Name the city.", { city: "Oslo" });\n</code>',
  "<code>\nfinal_answer(r);\n</code>",
]);
const agent = new CodeAgent({ model, managedAgents: [sub], executor });
const result = await agent.run("go", { returnFullResult: true });
console.log(JSON.stringify(result.steps, null, 1).slice(0, 3000), subCalls.length);
