/**
 * Source of `format(value)`, evaluated inside the sandbox: renders values for `print` / `console.log` and the
 * "Last output" observation in a readable, JSON-like way (strings raw at the top level, quoted inside
 * structures; one line when short, indented otherwise; cycles, depth and long collections are cut).
 * It is spliced into the prelude and uses the prelude's captured intrinsics (`O`, `isArray`, `stringify`,
 * `strIncludes`) and `apply` and `formatBigInt` from the native bounds.
 */
export const FORMAT_SOURCE = String.raw`
  const MAX_ITEMS = 100, MAX_DEPTH = 5, WIDTH = 72;
  const objectToString = O.prototype.toString;
  const functionToString = Function.prototype.toString;
  const quote = (s) => stringify(s);
  const keyText = (k) => quote(k);
  function typedArrayName(v) {
    const tag = objectToString.call(v).slice(8, -1);
    return /Array$/.test(tag) && tag !== "Array" ? tag : "";
  }
  function className(v) {
    const proto = O.getPrototypeOf(v);
    if (proto === null) return "[Object: null prototype]";
    if (proto === O.prototype) return "";
    try {
      const ctor = proto.constructor;
      return typeof ctor === "function" && ctor.name ? ctor.name : "";
    } catch { return ""; }
  }
  function wrap(open, close, items, prefix, indent) {
    const single = prefix + open + items.join(", ") + close;
    if (single.length <= WIDTH && !items.some((s) => apply(strIncludes, s, ["\n"]))) return single;
    const pad = indent + "  ";
    return prefix + open + "\n" + items.map((s) => pad + s).join(",\n") + "\n" + indent + close;
  }
  function format(v, top = true, depth = 0, seen = [], indent = "") {
    switch (typeof v) {
      case "string": return top ? v : quote(v);
      case "number": return O.is(v, -0) ? "-0" : String(v);
      case "bigint": return formatBigInt(v) + "n";
      case "boolean": case "undefined": return String(v);
      case "symbol": return v.toString();
      case "function": {
        let src = "";
        try { src = functionToString.call(v); } catch {}
        const name = v.name || "(anonymous)";
        return /^class\b/.test(src) ? "[class " + name + "]" : "[Function: " + name + "]";
      }
    }
    if (v === null) return "null";
    if (seen.includes(v)) return "[Circular]";
    try {
      if (v instanceof Promise) return "Promise { <pending> } (a Promise: did you forget await?)";
      if (v instanceof Error) return (v.name || "Error") + ": " + v.message;
      if (v instanceof Date) return isNaN(v.getTime()) ? "Invalid Date" : v.toISOString();
      if (v instanceof RegExp) return String(v);
      if (depth >= MAX_DEPTH) return isArray(v) ? "[Array]" : "[Object]";
      const inner = indent + "  ";
      const sub = (x) => format(x, false, depth + 1, seen, inner);
      seen.push(v);
      try {
        const more = (items, n) => {
          if (n > MAX_ITEMS) items.push("... " + (n - MAX_ITEMS) + " more items");
          return items;
        };
        if (v instanceof Map || v instanceof Set) {
          const items = [];
          for (const entry of v) {
            if (items.length >= MAX_ITEMS) break;
            items.push(v instanceof Map ? sub(entry[0]) + " => " + sub(entry[1]) : sub(entry));
          }
          const name = v instanceof Map ? "Map" : "Set";
          return wrap("{", "}", more(items, v.size), name + "(" + v.size + ") ", indent);
        }
        const typed = typedArrayName(v);
        if (typed) {
          const items = [];
          for (let i = 0; i < v.length && i < MAX_ITEMS; i++) items.push(String(v[i]));
          return wrap("[", "]", more(items, v.length), typed + "(" + v.length + ") ", indent);
        }
        if (isArray(v)) {
          const items = [];
          for (let i = 0; i < v.length && i < MAX_ITEMS; i++) items.push(sub(v[i]));
          return wrap("[", "]", more(items, v.length), "", indent);
        }
        const name = className(v);
        const keys = O.keys(v);
        const items = keys.slice(0, MAX_ITEMS).map((k) => keyText(k) + ": " + sub(v[k]));
        return wrap("{", "}", more(items, keys.length), name ? name + " " : "", indent);
      } finally {
        seen.pop();
      }
    } catch (e) {
      return "[unprintable: " + (e && e.message) + "]";
    }
  }
`;
