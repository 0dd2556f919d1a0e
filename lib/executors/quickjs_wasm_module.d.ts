// Types of a .wasm file imported under wrangler's CompiledWasm rule (a compiled module). Use it from a Workers
// entry with `// @ts-types="<path>/quickjs_wasm_module.d.ts"` above the .wasm import, so `deno check` does not
// try to load the binary. See quickjs_executor.ts.
declare const wasmModule: WebAssembly.Module;
export default wasmModule;
