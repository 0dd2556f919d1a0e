/**
 * Source of the native bounds, spliced into the sandbox prelude. QuickJS checks its interrupt handler only between
 * bytecode instructions (and, while backtracking, inside the regexp engine), never inside other builtins: once a
 * builtin loops natively (over the holes of an array-like with a huge `length`, over the positions of a long string
 * search, over the digits of a huge BigInt) nothing stops it, on Cloudflare Workers nothing but the platform's CPU
 * limit. These wrappers decide before such a builtin starts: over a cap it is a RangeError naming the operation and
 * the cap; a long string search runs the native search over windows of bounded work; and native work is counted, so
 * the host checks its limits every WORK_STEP elements even in a loop of medium-sized calls (QuickJS itself consults
 * the handler only every 10,000 bytecode branches or calls, however long each call takes).
 * The wrappers replace the builtins as non-writable, non-configurable properties; the originals stay reachable only
 * here. A length read must not run the sandbox's code (a getter, valueOf or Proxy could report a small length to
 * the check and a huge one to the builtin), so such array-likes are refused with a TypeError.
 * Only the Array core is compiled with the prelude (compiling costs every step); the string, concat / flat and
 * BigInt paths are compiled the first time a step calls one of them.
 */

/** Most elements a natively looping Array builtin may visit: no dense array fits more in the default 64 MiB. */
export const MAX_NATIVE_LENGTH = 2 ** 23;
/** Longest string `repeat` / `padStart` / `padEnd` may build (characters). */
export const MAX_NATIVE_STRING = 2 ** 25;
/** Largest BigInt (bits) converted to a string in a radix that is not a power of two (quadratic in QuickJS). */
export const MAX_BIGINT_TEXT_BITS = 2 ** 17;
/** Worst-case compares (haystack × needle length) of one native string search; longer ones run in windows. */
export const MAX_SEARCH_WORK = 2 ** 22;
/** Native work (elements visited) after which the host checks its limits. */
export const WORK_STEP = 2 ** 16;

/** Names the kits receive from the core (`k`): a kit is compiled at global scope, so it must name no global. */
const KIT_NAMES = "O, isArray, apply, defProp, floor, min, max, trunc, charge, stableGet, lengthOf, tooLong, unsafe, " +
  "TypeErr, StringCtor, ArrayCtor, RegExpCtor, SPREAD, SPECIES, MATCH, LIMIT, StringProto, natives";
/**
 * Kits run after the model's code has started: they append with `add` (CreateDataProperty: an index setter the model
 * put on Array.prototype must not see, or change, an array the kit is about to hand to a builtin) and use no
 * iterator (for-of, spread, array destructuring run Array.prototype[Symbol.iterator], which the model may replace).
 */
const KIT_PRELUDE = String.raw`"use strict";
  const { ${KIT_NAMES} } = k;
  const add = (a, v) => defProp(a, a.length, { value: v, writable: true, enumerable: true, configurable: true });`;

/** String builders and searches: bounded result lengths; long searches in windows of MAX_SEARCH_WORK compares. */
export const STRINGS_KIT_SOURCE = String.raw`(function (k) {
  ${KIT_PRELUDE}
  const strIndexOf = natives.indexOf, strLastIndexOf = natives.lastIndexOf, strSlice = StringProto.slice;
  const STRING_LIMIT = ${MAX_NATIVE_STRING}, SEARCH_WORK = ${MAX_SEARCH_WORK};
  const toLen = (v) => { v = +v; return v > 0 ? (v === 1 / 0 ? v : floor(v)) : 0; };
  // ToString as the builtins do it (a Symbol throws), done once, so the builtin sees the checked value.
  const text = (v) => {
    if (typeof v === "symbol") throw new TypeErr("Cannot convert a Symbol value to a string");
    return typeof v === "string" ? v : StringCtor(v);
  };
  const toStr = (v, label) => {
    if (v === null || v === undefined) throw new TypeErr(label + " called on null or undefined");
    return text(v);
  };
  const isRegExp = (v) => v !== null && typeof v === "object" && (v[MATCH] !== undefined ? !!v[MATCH] : v instanceof RegExpCtor);
  const slow = (s, t) => t.length > 1 && s.length * t.length > SEARCH_WORK;
  const windowOf = (t) => max(1, floor(SEARCH_WORK / t.length));
  function indexIn(s, t, pos) {
    const step = windowOf(t);
    for (let i = pos; i + t.length <= s.length; i += step) {
      charge(SEARCH_WORK >> 6);
      const j = apply(strIndexOf, apply(strSlice, s, [i, i + step + t.length - 1]), [t]);
      if (j >= 0) return i + j;
    }
    return -1;
  }
  function lastIndexIn(s, t, pos) {
    const step = windowOf(t);
    for (let hi = min(pos, s.length - t.length); hi >= 0; hi -= step) {
      charge(SEARCH_WORK >> 6);
      const lo = max(0, hi - step + 1), j = apply(strLastIndexOf, apply(strSlice, s, [lo, hi + t.length]), [t]);
      if (j >= 0) return lo + j;
    }
    return -1;
  }
  // GetSubstitution for a string pattern: $$, $&, $\u0060 and $' (a string pattern has no capture groups).
  function substitute(rep, matched, pos, s) {
    if (apply(strIndexOf, rep, ["$"]) < 0) return rep;
    let out = "";
    for (let i = 0; i < rep.length; i++) {
      const c = rep[i], d = rep[i + 1];
      if (c !== "$" || d === undefined) out += c;
      else if (d === "$") out += "$", i++;
      else if (d === "&") out += matched, i++;
      else if (d === "\u0060") out += apply(strSlice, s, [0, pos]), i++;
      else if (d === "'") out += apply(strSlice, s, [pos + matched.length]), i++;
      else out += c;
    }
    return out;
  }
  function replaceOrSplit(name, s, t, rest, limit) {
    if (limit === 0) return [];
    const found = [];
    for (let j = indexIn(s, t, 0); j >= 0; j = name === "replace" ? -1 : indexIn(s, t, j + t.length)) {
      add(found, j);
      if (name === "split" && found.length === limit) break;
    }
    let out = name === "split" ? [] : "", from = 0;
    for (let i = 0; i < found.length; i++) {
      const j = found[i], before = apply(strSlice, s, [from, j]);
      if (name === "split") add(out, before);
      else out += before + (typeof rest === "function" ? text(rest(t, j, s)) : substitute(rest, t, j, s));
      from = j + t.length;
    }
    if (name !== "split") return out + apply(strSlice, s, [from]);
    if (limit === undefined || out.length < limit) add(out, apply(strSlice, s, [from]));
    return out;
  }
  const kit = {}, searches = ["indexOf", "includes", "lastIndexOf"], builders = ["replace", "replaceAll", "split"];
  const put = (name, fn) => defProp(kit, name, { value: fn });
  for (let n = 0; n < searches.length; n++) {
    const name = searches[n], native = natives[name], label = "String.prototype." + name;
    put(name, (self, args) => {
      const searchString = args[0], position = args[1];
      const s = toStr(self, label);
      if (name === "includes" && isRegExp(searchString)) throw new TypeErr(label + ": the argument must not be a regular expression");
      const t = text(searchString), pos = name === "lastIndexOf" ? +position : toLen(position);
      charge(floor(s.length / 16));
      if (!slow(s, t)) return apply(native, s, [t, pos]);
      if (name === "lastIndexOf") return lastIndexIn(s, t, pos === pos ? toLen(pos) : 1 / 0);
      const i = indexIn(s, t, min(pos, s.length));
      return name === "includes" ? i >= 0 : i;
    });
  }
  for (let n = 0; n < builders.length; n++) {
    const name = builders[n], native = natives[name], label = "String.prototype." + name;
    const symbol = name === "split" ? k.SPLIT : k.REPLACE;
    put(name, (self, args) => {
      const pattern = args[0], second = args[1];
      if (self === null || self === undefined) throw new TypeErr(label + " called on null or undefined");
      if (pattern !== null && pattern !== undefined) {
        if (name === "replaceAll" && isRegExp(pattern) && apply(strIndexOf, text(pattern.flags), ["g"]) < 0) {
          throw new TypeErr(label + " must be called with a global RegExp");
        }
        const method = typeof pattern === "object" || typeof pattern === "function" ? pattern[symbol] : undefined;
        if (method !== undefined && method !== null) return apply(method, pattern, [self, second]);
      }
      const s = toStr(self, label);
      const limit = name === "split" && second !== undefined ? second >>> 0 : undefined;
      const t = text(pattern);
      const rest = name === "split" ? limit : typeof second === "function" ? second : text(second);
      charge(floor(s.length / 16));
      if (!slow(s, t)) return apply(native, s, [t, rest]);
      return replaceOrSplit(name, s, t, rest, limit);
    });
  }
  const nativeRepeat = natives.repeat;
  put("repeat", (self, args) => {
    const s = toStr(self, "String.prototype.repeat"), c = +args[0] || 0, n = s.length * floor(c);
    if (c >= 0 && c !== 1 / 0 && n > STRING_LIMIT) throw tooLong("String.prototype.repeat", n, STRING_LIMIT, "result length");
    charge(floor(n / 16));
    return apply(nativeRepeat, s, [c]);
  });
  for (let p = 0; p < 2; p++) {
    const name = p ? "padEnd" : "padStart", native = natives[name], label = "String.prototype." + name;
    put(name, (self, args) => {
      const s = toStr(self, label), n = toLen(args[0]), fill = args[1];
      const f = fill === undefined ? " " : toStr(fill, label);
      if (n > s.length && f !== "") {
        if (n > STRING_LIMIT) throw tooLong(label, n, STRING_LIMIT, "result length");
        charge(floor(n / 16));
      }
      return apply(native, s, [n, f]);
    });
  }
  // String.raw walks template.raw by its length natively, one index at a time.
  put("raw", (self, args) => {
    const template = args[0], label = "String.raw";
    if (template !== null && template !== undefined) {
      const raw = stableGet(O(template), "raw", label);
      if (raw !== null && raw !== undefined) charge(lengthOf(O(raw), label));
    }
    return apply(natives.raw, self, args);
  });
  return kit;
})`;

/** concat, flat and flatMap (their arguments and nested arrays are beyond the core's check), and BigInt text. */
export const RARE_KIT_SOURCE = String.raw`(function (k) {
  ${KIT_PRELUDE}
  const nativeConcat = natives.concat, BITS_LIMIT = ${MAX_BIGINT_TEXT_BITS};
  // concat reads its arguments after ArraySpeciesCreate and after the elements of earlier arguments (both may run
  // code): each object argument is checked right before a native call of its own.
  function speciesSafe(a, label) {
    let c = stableGet(a, "constructor", label);
    if (c !== null && (typeof c === "object" || typeof c === "function")) c = stableGet(c, SPECIES, label);
    if (c !== undefined && c !== null && c !== ArrayCtor) throw unsafe(label);
  }
  function concat(self, items) {
    const label = "Array.prototype.concat";
    if (self === null || self === undefined) return apply(nativeConcat, self, items);
    let out = [], batch = [];
    const all = [O(self)];
    for (let i = 0; i < items.length; i++) add(all, items[i]);
    for (let i = 0; i < all.length; i++) {
      const x = all[i];
      if (x === null || (typeof x !== "object" && typeof x !== "function")) { add(batch, x); continue; }
      const s = stableGet(x, SPREAD, label);
      const n = (s === undefined ? isArray(x) : !!s) ? lengthOf(x, label) : 1;
      if (batch.length) out = apply(nativeConcat, out, batch), batch = [];
      if (out.length + n > LIMIT) throw tooLong(label, out.length + n, LIMIT, "result length");
      charge(out.length + n);
      speciesSafe(out, label);
      out = apply(nativeConcat, out, [x]);
    }
    return batch.length ? apply(nativeConcat, out, batch) : out;
  }
  // flat and flatMap reach nested arrays the outer check cannot see: they run as bytecode (interruptible).
  function flatInto(out, src, depth, label) {
    const len = +src.length > 0 ? floor(+src.length) : 0;
    if (len > LIMIT) throw tooLong(label, len, LIMIT, "length");
    for (let i = 0; i < len; i++) {
      if (!(i in src)) continue;
      const v = src[i];
      if (depth > 0 && isArray(v)) flatInto(out, v, depth - 1, label);
      else add(out, v);
    }
    return out;
  }
  const object = (v, label) => {
    if (v === null || v === undefined) throw new TypeErr(label + " called on null or undefined");
    return O(v);
  };
  function flat(self, args) {
    const depth = args[0];
    const d = depth === undefined ? 1 : trunc(+depth) || 0;
    return flatInto([], object(self, "Array.prototype.flat"), d, "Array.prototype.flat");
  }
  function flatMap(self, args) {
    const fn = args[0], thisArg = args[1];
    const label = "Array.prototype.flatMap", o = object(self, label);
    const len = +o.length > 0 ? floor(+o.length) : 0;
    if (typeof fn !== "function") throw new TypeErr(label + ": the callback is not a function");
    if (len > LIMIT) throw tooLong(label, len, LIMIT, "length");
    const out = [];
    for (let i = 0; i < len; i++) {
      if (!(i in o)) continue;
      const v = apply(fn, thisArg, [o[i], i, o]);
      if (isArray(v)) flatInto(out, v, 0, label);
      else add(out, v);
    }
    return out;
  }
  // BigInt to a radix that is not a power of two is quadratic in QuickJS.
  const bigToString = natives.toString, bigValueOf = natives.valueOf;
  const bits = (x) => apply(bigToString, x < 0n ? -x : x, [16]).length * 4;
  function bigText(x, radix, label) {
    if ((radix & (radix - 1)) !== 0 && bits(x) > BITS_LIMIT) throw tooLong(label, bits(x), BITS_LIMIT, "bit length");
    return apply(bigToString, x, [radix]);
  }
  const toString = (self, args) =>
    bigText(apply(bigValueOf, self, []), args[0] === undefined ? 10 : trunc(+args[0]) || 0, "BigInt.prototype.toString");
  const toLocaleString = (self) => bigText(apply(bigValueOf, self, []), 10, "BigInt.prototype.toLocaleString");
  // The printed form of a BigInt: hexadecimal when decimal would take too long.
  const format = (x) => (bits(x) > BITS_LIMIT ? (x < 0n ? "-0x" : "0x") + apply(bigToString, x < 0n ? -x : x, [16]) : apply(bigToString, x, [10]));
  return { concat: (self, items) => concat(self, items), flat, flatMap, toString, toLocaleString, format };
})`;

/**
 * Uses from the prelude: `O`, `M`, `G`, `geval`, `isArray`, `ArrayProto`, `TypeErr`, the bridge `hostWork`, and
 * the kits' sources `stringsKitSource` and `rareKitSource` (the host passes them as strings: cheaper than parsing
 * them as literals every step). Gives the prelude `apply`, `isProxy`, `formatBigInt` and `LIMIT`.
 */
export const BOUNDS_SOURCE = String.raw`
  // In a scope of its own: the prelude sees only what it uses.
  const { apply, isProxy, formatBigInt, LIMIT } = (() => {
  const LIMIT = ${MAX_NATIVE_LENGTH};
  const ArrayCtor = Array, RangeErr = RangeError, RegExpCtor = RegExp, StringCtor = String, NumberCtor = Number;
  const apply = Reflect.apply, hasOwn = O.hasOwn, bind = Function.prototype.bind;
  const gopd = O.getOwnPropertyDescriptor, getProto = O.getPrototypeOf, defProp = O.defineProperty;
  const floor = M.floor, min = M.min, max = M.max, trunc = M.trunc, clz32 = M.clz32;
  const NativeProxy = Proxy, proxies = new WeakSet();
  const isProxy = apply(bind, WeakSet.prototype.has, [proxies]), addProxy = apply(bind, WeakSet.prototype.add, [proxies]);
  const TA_LENGTH = gopd(getProto(Uint8Array.prototype), "length").get;
  const SPECIES = Symbol.species, SPECIES_GETTER = gopd(ArrayCtor, SPECIES).get, SPREAD = Symbol.isConcatSpreadable;
  const MATCH = Symbol.match, REPLACE = Symbol.replace, SPLIT = Symbol.split;
  const StringProto = String.prototype, BigIntProto = BigInt.prototype;
  /** The builtins replaced by wrappers compiled on first use, by name (the kits call these). */
  const natives = { valueOf: BigIntProto.valueOf };
  let work = 0, strings, rare;

  const unsafe = (label) => new TypeErr(label + " refuses an array-like whose length is computed by code (a getter, valueOf or Proxy): the sandbox could not bound its loop");
  const tooLong = (label, n, cap, what) => new RangeErr(label + ": " + what + " " + n + " is over the sandbox's limit of " + cap + " (builtins that loop natively cannot be interrupted)");
  /** Counts native work; every WORK_STEP elements the host checks its limits and, past them, ends the step. */
  function charge(units) {
    work += units;
    if (work >= ${WORK_STEP}) {
      const done = work;
      work = 0;
      if (hostWork(done)) for (;;) {} // the host interrupts here, uncatchably
    }
  }
  /** o[key] as a builtin would read it, found without running the sandbox's code (else a TypeError). */
  function stableGet(o, key, label) {
    for (let p = o; p !== null && p !== undefined; p = getProto(p)) {
      if (isProxy(p)) throw unsafe(label);
      const d = gopd(p, key);
      if (d === undefined) continue;
      if (hasOwn(d, "value")) return d.value;
      if (d.get === TA_LENGTH || d.get === SPECIES_GETTER) return apply(d.get, o, []);
      throw unsafe(label);
    }
  }
  /** ToLength(o.length) read without running code, refused over the cap. */
  function lengthOf(o, label) {
    let v = typeof o === "string" || (isArray(o) && !isProxy(o)) ? o.length : stableGet(o, "length", label);
    if ((typeof v === "object" && v !== null) || typeof v === "function") throw unsafe(label);
    v = typeof v === "number" ? v : typeof v === "symbol" || typeof v === "bigint" ? 0 : NumberCtor(v);
    v = v > 0 ? floor(v) : 0;
    if (v > LIMIT) throw tooLong(label, v, LIMIT, "length");
    return v;
  }
  function install(proto, name, fn, length) {
    defProp(fn, "length", { value: length });
    defProp(proto, name, { value: fn, writable: false, enumerable: false, configurable: false });
  }
  function guard(names, measure) {
    for (const name of names) {
      const native = ArrayProto[name], label = "Array.prototype." + name;
      install(ArrayProto, name, { [name](...args) { measure(this, label); return apply(native, this, args); } }[name], native.length);
    }
  }
  guard(["indexOf", "lastIndexOf", "includes", "join", "toLocaleString", "reverse", "fill", "copyWithin", "splice",
    "slice", "every", "some", "forEach", "map", "filter", "reduce", "reduceRight", "unshift", "shift", "with",
    "toReversed", "toSpliced"], (o, label) => charge(lengthOf(o, label)));
  guard(["sort", "toSorted"], (o, label) => {
    const n = lengthOf(o, label);
    charge(n * (32 - clz32(n)));
  });

  const kit = () => ({ O, isArray, apply, defProp, floor, min, max, trunc, charge, stableGet, lengthOf, tooLong, unsafe,
    TypeErr, StringCtor, ArrayCtor, RegExpCtor, SPREAD, SPECIES, MATCH, REPLACE, SPLIT, LIMIT, StringProto, natives });
  const stringKit = () => (strings ??= geval(stringsKitSource)(kit()));
  const rareKit = () => (rare ??= geval(rareKitSource)(kit()));
  /** Installs a wrapper whose implementation is compiled on first use. */
  function later(proto, name, length, load) {
    natives[name] = proto[name];
    install(proto, name, { [name](...args) { return load()[name](this, args); } }[name], length);
  }
  for (const [name, length] of [["indexOf", 1], ["includes", 1], ["lastIndexOf", 1], ["replace", 2],
    ["replaceAll", 2], ["split", 2], ["repeat", 1], ["padStart", 1], ["padEnd", 1]]) later(StringProto, name, length, stringKit);
  later(StringCtor, "raw", 1, stringKit);
  later(ArrayProto, "concat", 1, rareKit);
  later(ArrayProto, "flat", 0, rareKit);
  later(ArrayProto, "flatMap", 1, rareKit);
  later(BigIntProto, "toString", 0, rareKit);
  later(BigIntProto, "toLocaleString", 0, rareKit);
  const formatBigInt = (x) => rareKit().format(x);

  // Proxies are recorded so that a length read through one is recognised (and refused) above.
  const SandboxProxy = apply(bind, function (target, handler) {
    if (new.target === undefined) throw new TypeErr("Constructor Proxy requires 'new'");
    const p = new NativeProxy(target, handler);
    addProxy(p);
    return p;
  }, [null]);
  const nativeRevocable = NativeProxy.revocable;
  defProp(SandboxProxy, "name", { value: "Proxy" });
  defProp(SandboxProxy, "length", { value: 2 });
  defProp(SandboxProxy, "revocable", { value: { revocable(target, handler) {
    const r = nativeRevocable(target, handler);
    addProxy(r.proxy);
    return r;
  } }.revocable, writable: true, configurable: true });
  defProp(G, "Proxy", { value: SandboxProxy, writable: false, enumerable: false, configurable: false });
  return { apply, isProxy, formatBigInt, LIMIT };
  })();
`;
