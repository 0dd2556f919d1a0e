/** This library's version, as in deno.json (a test keeps them equal); shown by `/health` and on OTel meters. */
export const VERSION = "0.1.0";
