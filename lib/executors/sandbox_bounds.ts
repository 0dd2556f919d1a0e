/**
 * Source of the native bounds, spliced into the sandbox prelude. QuickJS checks its interrupt handler only between
 * bytecode instructions (and inside the regexp engine), never inside other builtins: once a builtin loops natively
 * (over the holes of an array-like with a huge `length`, over the positions of a long string search, over the
 * digits of a huge BigInt) nothing can stop it, and on Cloudflare Workers nothing but the platform's CPU limit.
 * These wrappers decide before such a builtin starts: over a cap it is a RangeError naming the operation and the
 * cap; long string searches run through the regexp engine, which does check the interrupt; and the native work is
 * counted, so the host checks its limits every WORK_STEP elements even in a loop of medium-sized calls (QuickJS
 * itself consults the handler only every 10,000 bytecode branches or calls, however long each call takes).
 * The wrappers replace the builtins as non-writable, non-configurable properties: the originals stay reachable only
 * here. A length read must not run the sandbox's code (a getter, valueOf or Proxy could report a small length to
 * the check and a huge one to the builtin), so such array-likes are refused with a TypeError.
 */

/** Most elements a natively looping Array builtin may visit: no dense array fits more in the default 64 MiB. */
export const MAX_NATIVE_LENGTH = 2 ** 23;
/** Longest string `repeat` / `padStart` / `padEnd` may build (characters). */
export const MAX_NATIVE_STRING = 2 ** 25;
/** Largest BigInt (bits) converted to a string in a radix that is not a power of two (quadratic in QuickJS). */
export const MAX_BIGINT_TEXT_BITS = 2 ** 17;
/** Worst-case string search work (haystack × needle length) above which the search goes through a RegExp. */
const SEARCH_WORK = 2 ** 22;
/** Native work (elements visited) after which the host checks its limits. */
export const WORK_STEP = 2 ** 16;

/** Uses from the prelude: `O`, `M`, `isArray`, `ArrayProto`, `TypeErr`, and the bridge function `hostWork`. */
export const BOUNDS_SOURCE = String.raw`
  const LIMIT = ${MAX_NATIVE_LENGTH}, STRING_LIMIT = ${MAX_NATIVE_STRING}, BITS_LIMIT = ${MAX_BIGINT_TEXT_BITS};
  const SEARCH_WORK = ${SEARCH_WORK};
  const ArrayCtor = Array, RangeErr = RangeError, RegExpCtor = RegExp, apply = Reflect.apply, hasOwn = O.hasOwn;
  const gopd = O.getOwnPropertyDescriptor, getProto = O.getPrototypeOf, defProp = O.defineProperty;
  const floor = M.floor, min = M.min, max = M.max, clz32 = M.clz32, NumberCtor = Number, bind = Function.prototype.bind;
  const NativeProxy = Proxy, proxies = new WeakSet(), StringCtor = String, trunc = M.trunc;
  const isProxy = apply(bind, WeakSet.prototype.has, [proxies]), addProxy = apply(bind, WeakSet.prototype.add, [proxies]);
  const TA_LENGTH = gopd(getProto(Uint8Array.prototype), "length").get;
  const SPECIES = Symbol.species, SPECIES_GETTER = gopd(ArrayCtor, SPECIES).get, SPREAD = Symbol.isConcatSpreadable;
  const StringProto = String.prototype, BigIntProto = BigInt.prototype;
  const { indexOf: strIndexOf, lastIndexOf: strLastIndexOf, slice: strSlice } = StringProto;
  const bigToString = BigIntProto.toString, bigValueOf = BigIntProto.valueOf;
  let work = 0;

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
  function guard(proto, prefix, names, measure) {
    for (const name of names) {
      const native = proto[name], label = prefix + name;
      install(proto, name, { [name](...args) { measure(this, label, args); return apply(native, this, args); } }[name], native.length);
    }
  }
  guard(ArrayProto, "Array.prototype.", ["indexOf", "lastIndexOf", "includes", "join", "toLocaleString", "reverse",
    "fill", "copyWithin", "splice", "slice", "every", "some", "forEach", "map", "filter", "reduce", "reduceRight",
    "unshift", "shift", "with", "toReversed", "toSpliced"], (o, label) => charge(lengthOf(o, label)));
  guard(ArrayProto, "Array.prototype.", ["sort", "toSorted"], (o, label) => {
    const n = lengthOf(o, label);
    charge(n * (32 - clz32(n)));
  });

  // concat reads its arguments after ArraySpeciesCreate and after reading the elements of earlier arguments (both
  // may run code): each object argument is checked right before a native call of its own.
  const nativeConcat = ArrayProto.concat;
  function speciesSafe(a, label) {
    let c = stableGet(a, "constructor", label);
    if (c !== null && (typeof c === "object" || typeof c === "function")) c = stableGet(c, SPECIES, label);
    if (c !== undefined && c !== null && c !== ArrayCtor) throw unsafe(label);
  }
  install(ArrayProto, "concat", { concat(...items) {
    const label = "Array.prototype.concat";
    if (this === null || this === undefined) return apply(nativeConcat, this, items);
    let out = [], batch = [];
    const all = [O(this)];
    for (let i = 0; i < items.length; i++) all[i + 1] = items[i];
    for (let i = 0; i < all.length; i++) {
      const x = all[i];
      if (x === null || (typeof x !== "object" && typeof x !== "function")) { batch[batch.length] = x; continue; }
      const s = stableGet(x, SPREAD, label);
      const n = (s === undefined ? isArray(x) : !!s) ? lengthOf(x, label) : 1;
      if (batch.length) out = apply(nativeConcat, out, batch), batch = [];
      if (out.length + n > LIMIT) throw tooLong(label, out.length + n, LIMIT, "result length");
      charge(out.length + n);
      speciesSafe(out, label);
      out = apply(nativeConcat, out, [x]);
    }
    return batch.length ? apply(nativeConcat, out, batch) : out;
  } }.concat, 1);

  // flat and flatMap reach nested arrays the outer check cannot see: they run as bytecode (interruptible).
  function flatInto(out, src, depth, label) {
    const len = +src.length > 0 ? floor(+src.length) : 0;
    if (len > LIMIT) throw tooLong(label, len, LIMIT, "length");
    for (let k = 0; k < len; k++) {
      if (!(k in src)) continue;
      const v = src[k];
      if (depth > 0 && isArray(v)) flatInto(out, v, depth - 1, label);
      else out[out.length] = v;
    }
    return out;
  }
  const object = (v, label) => {
    if (v === null || v === undefined) throw new TypeErr(label + " called on null or undefined");
    return O(v);
  };
  install(ArrayProto, "flat", { flat(depth) {
    const o = object(this, "Array.prototype.flat");
    return flatInto([], o, depth === undefined ? 1 : trunc(+depth) || 0, "Array.prototype.flat");
  } }.flat, 0);
  install(ArrayProto, "flatMap", { flatMap(fn, thisArg) {
    const label = "Array.prototype.flatMap";
    const o = object(this, label);
    const len = +o.length > 0 ? floor(+o.length) : 0;
    if (typeof fn !== "function") throw new TypeErr(label + ": the callback is not a function");
    if (len > LIMIT) throw tooLong(label, len, LIMIT, "length");
    const out = [];
    for (let k = 0; k < len; k++) {
      if (!(k in o)) continue;
      const v = apply(fn, thisArg, [o[k], k, o]);
      if (isArray(v)) flatInto(out, v, 0, label);
      else out[out.length] = v;
    }
    return out;
  } }.flatMap, 1);

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

  // Strings: building is bounded by the result's length. Searching is O(haystack × needle) natively, and a RegExp
  // would not help (lre_exec checks the interrupt only when it backtracks, not while it compares a long literal):
  // a long search runs the native search over windows of bounded work, charged one by one.
  const toLen = (v) => { v = +v; return v > 0 ? (v === Infinity ? v : floor(v)) : 0; };
  /** ToString without the model's help: a Symbol throws, as in the builtins. */
  const text = (v) => {
    if (typeof v === "symbol") throw new TypeErr("Cannot convert a Symbol value to a string");
    return typeof v === "string" ? v : StringCtor(v);
  };
  const toStr = (v, label) => {
    if (v === null || v === undefined) throw new TypeErr(label + " called on null or undefined");
    return text(v);
  };
  const { repeat: nativeRepeat, padStart: nativePadStart, padEnd: nativePadEnd } = StringProto;
  install(StringProto, "repeat", { repeat(count) {
    const s = toStr(this, "String.prototype.repeat"), c = +count || 0;
    if (c >= 0 && c !== Infinity && s.length * floor(c) > STRING_LIMIT) throw tooLong("String.prototype.repeat", s.length * floor(c), STRING_LIMIT, "result length");
    charge(floor((s.length * floor(c)) / 16));
    return apply(nativeRepeat, s, [c]);
  } }.repeat, 1);
  for (const [name, native] of [["padStart", nativePadStart], ["padEnd", nativePadEnd]]) {
    const label = "String.prototype." + name;
    install(StringProto, name, { [name](maxLength, fill) {
      const s = toStr(this, label), n = toLen(maxLength), f = fill === undefined ? " " : toStr(fill, label);
      if (n > s.length && f !== "") {
        if (n > STRING_LIMIT) throw tooLong(label, n, STRING_LIMIT, "result length");
        charge(floor(n / 16));
      }
      return apply(native, s, [n, f]);
    } }[name], 1);
  }
  const slow = (s, t) => t.length > 1 && s.length * t.length > SEARCH_WORK;
  /** Native searches over windows of start positions, each at most SEARCH_WORK compares, charged one by one. */
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
  /** GetSubstitution for a string pattern: $$, $&, $\` and $' (no capture groups). */
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
  const isRegExp = (v) => v !== null && typeof v === "object" && (v[Symbol.match] !== undefined ? !!v[Symbol.match] : v instanceof RegExpCtor);
  for (const name of ["indexOf", "includes", "lastIndexOf"]) {
    const native = StringProto[name], label = "String.prototype." + name;
    install(StringProto, name, { [name](searchString, position) {
      const s = toStr(this, label);
      if (name === "includes" && isRegExp(searchString)) throw new TypeErr(label + ": the argument must not be a regular expression");
      const t = text(searchString), pos = name === "lastIndexOf" ? +position : toLen(position);
      charge(floor(s.length / 16));
      if (!slow(s, t)) return apply(native, s, [t, pos]);
      if (name === "lastIndexOf") return lastIndexIn(s, t, pos === pos ? toLen(pos) : Infinity);
      const i = indexIn(s, t, min(pos, s.length));
      return name === "includes" ? i >= 0 : i;
    } }[name], 1);
  }
  for (const [name, symbol] of [["replace", Symbol.replace], ["replaceAll", Symbol.replace], ["split", Symbol.split]]) {
    const native = StringProto[name], label = "String.prototype." + name;
    install(StringProto, name, { [name](pattern, second) {
      if (this === null || this === undefined) throw new TypeErr(label + " called on null or undefined");
      if (pattern !== null && pattern !== undefined) {
        if (name === "replaceAll" && isRegExp(pattern) && apply(strIndexOf, text(pattern.flags), ["g"]) < 0) {
          throw new TypeErr(label + " must be called with a global RegExp");
        }
        const method = typeof pattern === "object" || typeof pattern === "function" ? pattern[symbol] : undefined;
        if (method !== undefined && method !== null) return apply(method, pattern, [this, second]);
      }
      const s = toStr(this, label);
      const limit = name === "split" && second !== undefined ? second >>> 0 : undefined;
      const t = text(pattern);
      const rest = name === "split" ? limit : typeof second === "function" ? second : text(second);
      charge(floor(s.length / 16));
      if (!slow(s, t)) return apply(native, s, [t, rest]);
      if (limit === 0) return [];
      const found = [];
      for (let j = indexIn(s, t, 0); j >= 0; j = name === "replace" ? -1 : indexIn(s, t, j + t.length)) {
        found[found.length] = j;
        if (name === "split" && found.length === limit) break;
      }
      let out = name === "split" ? [] : "", from = 0;
      for (let k = 0; k < found.length; k++) {
        const j = found[k], before = apply(strSlice, s, [from, j]);
        if (name === "split") out[out.length] = before;
        else out += before + (typeof rest === "function" ? text(rest(t, j, s)) : substitute(rest, t, j, s));
        from = j + t.length;
      }
      if (name !== "split") return out + apply(strSlice, s, [from]);
      if (limit === undefined || out.length < limit) out[out.length] = apply(strSlice, s, [from]);
      return out;
    } }[name], 2);
  }

  // BigInt: converting to a radix that is not a power of two is quadratic in QuickJS.
  const bigBits = (x) => apply(bigToString, x < 0n ? -x : x, [16]).length * 4;
  function bigText(x, radix, label) {
    if ((radix & (radix - 1)) !== 0 && bigBits(x) > BITS_LIMIT) throw tooLong(label, bigBits(x), BITS_LIMIT, "bit length");
    return apply(bigToString, x, [radix]);
  }
  install(BigIntProto, "toString", { toString(radix) {
    const x = apply(bigValueOf, this, []);
    return bigText(x, radix === undefined ? 10 : trunc(+radix) || 0, "BigInt.prototype.toString");
  } }.toString, 0);
  install(BigIntProto, "toLocaleString", { toLocaleString() {
    return bigText(apply(bigValueOf, this, []), 10, "BigInt.prototype.toLocaleString");
  } }.toLocaleString, 0);
  /** The printed form of a BigInt: hexadecimal when decimal would take too long. */
  const formatBigInt = (x) => (bigBits(x) > BITS_LIMIT ? (x < 0n ? "-0x" : "0x") + apply(bigToString, x < 0n ? -x : x, [16]) : apply(bigToString, x, [10]));
`;
