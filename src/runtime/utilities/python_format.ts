/**
 * Python's spelling of values: `repr()`, `format(x, spec)` / `str.format`, and `sorted()`'s
 * string order.
 *
 * Lightning's files and messages are written by Python: checkpoint file names
 * (`"{epoch:02d}-{val_loss:.2f}"` → `epoch=03-val_loss=0.12`), `metrics.csv` (the `csv` module
 * writes `repr(float)`), `hparams.yaml` (PyYAML starts from `repr(float)` and sorts keys with
 * `sorted()`), callback state keys, the profiler's report and the callbacks' messages. Users
 * move checkpoint-selection scripts, pandas notebooks and diff-based checks between the two, so
 * lightning-ts spells and orders these the way Python does; JavaScript's `String(x)`, `toFixed`
 * and `Array.prototype.sort` differ (`1e-5` vs `1e-05`, `3` vs `3.0`, `0.125` → `.2f` is `0.13`
 * in JS but `0.12` in Python, UTF-16 vs code-point order). Rounding is therefore done exactly,
 * on the binary value, with round-half-even as CPython does.
 *
 * JavaScript has one number type where Python has `int` and `float`. Where the distinction is
 * known (a logged metric is a float, the epoch an int) callers say so with `PyNumber`; where it
 * is not, `pyNumberRepr` takes an exactly representable integral value for an int.
 */

/** A number as Python would hold it. */
export interface PyNumber {
  value: number;
  /** True for a Python int (epoch, step, a missing template key), false for a float (every logged metric). */
  isInt: boolean;
}

export const pyInt = (value: number): PyNumber => ({ value: Math.trunc(value), isInt: true });
export const pyFloat = (value: number): PyNumber => ({ value, isInt: false });

/** Python's `ValueError` from the format machinery (a bad spec, a code the type does not support). */
export class PythonFormatError extends Error {
  override name = "ValueError";
}

// ---------------------------------------------------------------------------------------------
// repr()

/**
 * `repr(x)` (= `str(x)`, `f"{x}"`) of a Python float.
 *
 * Both languages print the shortest digit string that round-trips, but they switch to
 * exponent notation at different points and spell the exponent differently: Python uses
 * scientific form when the decimal exponent is below -4 or at least 16 and pads the exponent
 * to two digits (`1e-05`, `1e+16`), and always keeps a fractional part in fixed form (`3.0`).
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  // toExponential() without an argument gives the shortest round-trip digits, the same digits
  // Python's repr chooses; only the layout differs.
  const [mantissa, expText] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    const tail = digits.length > 1 ? `.${digits.slice(1)}` : "";
    return `${sign}${digits[0]}${tail}${expSuffix(exp, false)}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits.padEnd(exp + 1, "0")}.0`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

/**
 * A JavaScript number spelled as Python would spell the value it most likely stands for: an
 * integral value in the exactly-representable range is taken for an int (`epoch`,
 * `batch_size`, `step`), anything else for a float. Beyond 2^53 integral values come from float
 * arithmetic, so they print as floats, which also keeps `1e300` from becoming a 301-digit int.
 */
export function pyNumberRepr(x: number | bigint): string {
  if (typeof x === "bigint") return x.toString();
  if (Number.isSafeInteger(x)) return Object.is(x, -0) ? "0" : String(x);
  return pyFloatRepr(x);
}

/** What Python's `str.isprintable()` rejects (the space excepted): these are escaped by `repr`. */
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;
const NAMED_ESCAPES: Readonly<Record<string, string>> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

/**
 * Python's `repr(str)`: single quotes unless the text holds a single quote and no double quote;
 * the chosen quote, backslashes and characters that are not printable escaped.
 */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let body = "";
  for (const ch of s) {
    const named = NAMED_ESCAPES[ch];
    if (named !== undefined) body += named;
    else if (ch === quote) body += `\\${quote}`;
    else if (ch !== " " && NON_PRINTABLE.test(ch)) body += hexEscape(ch.codePointAt(0)!);
    else body += ch;
  }
  return `${quote}${body}${quote}`;
}

function hexEscape(cp: number): string {
  const hex = cp.toString(16);
  if (cp <= 0xff) return `\\x${hex.padStart(2, "0")}`;
  if (cp <= 0xffff) return `\\u${hex.padStart(4, "0")}`;
  return `\\U${hex.padStart(8, "0")}`;
}

/**
 * `repr()` of a setting as Lightning puts it in a callback's state key: strings, numbers,
 * booleans and `None`; any other value is taken to spell its own repr through `toString`.
 */
export function pyRepr(value: unknown): string {
  if (typeof value === "string") return pyStrRepr(value);
  if (value === null || value === undefined) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number" || typeof value === "bigint") return pyNumberRepr(value);
  return String(value);
}

/**
 * Python's `str` ordering: by Unicode code point. JavaScript's default sort compares UTF-16 code
 * units, which puts characters above U+FFFF (stored as surrogates, 0xD800..) before
 * U+E000..U+FFFF; comparing code points removes that difference.
 */
export function pyStrCompare(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const ca = ia.next();
    const cb = ib.next();
    if (ca.done || cb.done) return ca.done === cb.done ? 0 : ca.done ? -1 : 1;
    const pa = ca.value.codePointAt(0)!;
    const pb = cb.value.codePointAt(0)!;
    if (pa !== pb) return pa < pb ? -1 : 1;
  }
}

// ---------------------------------------------------------------------------------------------
// format(x, spec)

interface Spec {
  fill: string;
  align: "<" | ">" | "=" | "^" | null;
  sign: "+" | "-" | " ";
  z: boolean;
  alternate: boolean;
  zero: boolean;
  width: number;
  grouping: "," | "_" | null;
  precision: number | null;
  type: string | null;
}

const ALIGNS = new Set(["<", ">", "=", "^"]);

function parseSpec(spec: string): Spec {
  let rest = spec;
  let fill = " ";
  let align: Spec["align"] = null;
  const cps = [...rest];
  if (cps.length >= 2 && ALIGNS.has(cps[1])) {
    fill = cps[0];
    align = cps[1] as Spec["align"];
    rest = cps.slice(2).join("");
  } else if (cps.length >= 1 && ALIGNS.has(cps[0])) {
    align = cps[0] as Spec["align"];
    rest = cps.slice(1).join("");
  }
  const m = /^([+\- ])?(z)?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/.exec(rest);
  if (!m) throw new PythonFormatError("Invalid format specifier");
  return {
    fill,
    align,
    sign: (m[1] as Spec["sign"] | undefined) ?? "-",
    z: m[2] !== undefined,
    alternate: m[3] !== undefined,
    zero: m[4] !== undefined,
    width: m[5] !== undefined ? Number(m[5]) : 0,
    grouping: (m[6] as Spec["grouping"] | undefined) ?? null,
    precision: m[7] !== undefined ? Number(m[7]) : null,
    type: m[8] ?? null,
  };
}

// ---------------------------------------------------------------------------------------------
// Exact decimal rounding of a double.

/** `|x|` as `mant · 2^exp2` exactly (x finite). */
function binaryParts(x: number): { mant: bigint; exp2: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased === 0) return { mant: frac, exp2: -1074 };
  return { mant: frac | (1n << 52n), exp2: biased - 1075 };
}

/** round-half-even(|x| · 10^d) as an integer, computed exactly. */
function roundScaled(x: number, d: number): bigint {
  const { mant, exp2 } = binaryParts(x);
  let num = mant;
  let den = 1n;
  if (d >= 0) num *= 10n ** BigInt(d);
  else den *= 10n ** BigInt(-d);
  if (exp2 >= 0) num <<= BigInt(exp2);
  else den <<= BigInt(-exp2);
  const q = num / den;
  const r2 = (num % den) * 2n;
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) return q + 1n;
  return q;
}

/** `|x|` with `p` decimals: `[integer digits, fraction digits]`. */
function fixedDigits(x: number, p: number): [string, string] {
  const s = roundScaled(x, p).toString().padStart(p + 1, "0");
  return p === 0 ? [s, ""] : [s.slice(0, s.length - p), s.slice(s.length - p)];
}

/** `|x|` rounded to `p + 1` significant digits: the digits and the decimal exponent of the first. */
function sciDigits(x: number, p: number): { digits: string; exp: number } {
  if (x === 0) return { digits: "0".repeat(p + 1), exp: 0 };
  let exp = Math.floor(Math.log10(Math.abs(x)));
  const lo = 10n ** BigInt(p);
  const hi = lo * 10n;
  // log10 can be off by one near powers of ten; rounding can also carry into a new digit.
  for (let guard = 0; guard < 4; guard++) {
    const q = roundScaled(x, p - exp);
    if (q >= hi) exp++;
    else if (q < lo) exp--;
    else return { digits: q.toString(), exp };
  }
  return { digits: roundScaled(x, p - exp).toString(), exp };
}

function expSuffix(exp: number, upper: boolean): string {
  const e = upper ? "E" : "e";
  return `${e}${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

function stripZeros(s: string): string {
  if (!s.includes(".")) return s;
  return s.replace(/0+$/, "").replace(/\.$/, "");
}

/** General format (`g`, and the no-type form with a precision: `noType`, which keeps a `.0`). */
function generalFormat(x: number, p: number, alternate: boolean, upper: boolean, noType: boolean): string {
  const prec = p === 0 ? 1 : p;
  const { digits, exp } = sciDigits(x, prec - 1);
  // CPython's format_float_short: the no-type form switches to exponent notation one digit earlier.
  const useFixed = exp >= -4 && exp < (noType ? prec - 1 : prec);
  let body: string;
  if (useFixed) {
    const decimals = Math.max(prec - 1 - exp, 0);
    const [i, f] = fixedDigits(x, decimals);
    body = f ? `${i}.${f}` : i;
    if (!alternate) body = stripZeros(body);
    if (noType && !body.includes(".")) body += ".0";
    else if (alternate && !body.includes(".")) body += ".";
  } else {
    let mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    if (!alternate) mant = stripZeros(mant);
    body = mant + expSuffix(exp, upper);
  }
  return body;
}

// ---------------------------------------------------------------------------------------------

function groupDigits(intPart: string, sep: string, every: number): string {
  let out = "";
  for (let i = 0; i < intPart.length; i++) {
    if (i > 0 && (intPart.length - i) % every === 0) out += sep;
    out += intPart[i];
  }
  return out;
}

function applyGrouping(body: string, grouping: Spec["grouping"], every = 3): string {
  if (grouping === null) return body;
  const m = /^(\d+)(.*)$/s.exec(body);
  if (!m) return body;
  return groupDigits(m[1], grouping, every) + m[2];
}

function pad(sign: string, prefix: string, body: string, s: Spec, defaultAlign: "<" | ">"): string {
  let fill = s.fill;
  let align = s.align;
  if (align === null && s.zero) {
    fill = "0";
    align = "=";
  }
  align ??= defaultAlign;
  const len = [...sign].length + prefix.length + [...body].length;
  const n = Math.max(s.width - len, 0);
  if (n === 0) return sign + prefix + body;
  const padding = fill.repeat(n);
  switch (align) {
    case "<":
      return sign + prefix + body + padding;
    case ">":
      return padding + sign + prefix + body;
    case "=":
      return sign + prefix + padding + body;
    case "^": {
      const left = fill.repeat(Math.floor(n / 2));
      return left + sign + prefix + body + fill.repeat(n - Math.floor(n / 2));
    }
  }
}

function signOf(negative: boolean, s: Spec): string {
  if (negative) return "-";
  return s.sign === "+" ? "+" : s.sign === " " ? " " : "";
}

function formatFloatSpec(x0: number, s: Spec): string {
  // `%` is `f` of x·100 followed by a percent sign, also for inf and nan.
  const x = s.type === "%" ? x0 * 100 : x0;
  const suffix = s.type === "%" ? "%" : "";
  let negative = x < 0 || Object.is(x, -0);
  const t = s.type;
  const upper = t === "F" || t === "E" || t === "G";
  let body: string;
  if (Number.isNaN(x)) {
    negative = false;
    body = upper ? "NAN" : "nan";
  } else if (!Number.isFinite(x)) {
    body = upper ? "INF" : "inf";
  } else {
    const p = s.precision;
    switch (t) {
      case "f":
      case "F": {
        const [i, f] = fixedDigits(x, p ?? 6);
        body = f ? `${i}.${f}` : s.alternate ? `${i}.` : i;
        break;
      }
      case "e":
      case "E": {
        const prec = p ?? 6;
        const { digits, exp } = sciDigits(x, prec);
        const mant = prec > 0 ? `${digits[0]}.${digits.slice(1)}` : s.alternate ? `${digits}.` : digits;
        body = mant + expSuffix(exp, upper);
        break;
      }
      case "g":
      case "G":
      case "n":
        body = generalFormat(x, p ?? 6, s.alternate, upper, false);
        break;
      case "%": {
        const [i, f] = fixedDigits(x, p ?? 6);
        body = f ? `${i}.${f}` : s.alternate ? `${i}.` : i;
        break;
      }
      case null:
        body = p === null ? pyFloatRepr(Math.abs(x)) : generalFormat(x, p, s.alternate, false, true);
        break;
      default:
        throw new PythonFormatError(`Unknown format code '${t}' for object of type 'float'`);
    }
    // `z` turns a negative zero (after rounding) into zero.
    if (s.z && negative && !/[1-9]/.test(body.replace(/e[+-]\d+$/i, ""))) negative = false;
  }
  body = applyGrouping(body, s.grouping) + suffix;
  return pad(signOf(negative, s), "", body, s, ">");
}

function formatIntSpec(v: number, s: Spec): string {
  const t = s.type;
  if (t !== null && "eEfFgG%".includes(t)) return formatFloatSpec(v, s);
  if (t === null && s.precision !== null) throw new PythonFormatError("Precision not allowed in integer format specifier");
  if (t === "s") throw new PythonFormatError("Unknown format code 's' for object of type 'int'");
  const negative = v < 0;
  const a = BigInt(Math.abs(Math.trunc(v)));
  let body: string;
  let prefix = "";
  let every = 3;
  switch (t) {
    case "b":
      body = a.toString(2);
      prefix = s.alternate ? "0b" : "";
      every = 4;
      break;
    case "o":
      body = a.toString(8);
      prefix = s.alternate ? "0o" : "";
      every = 4;
      break;
    case "x":
    case "X":
      body = a.toString(16);
      if (t === "X") body = body.toUpperCase();
      prefix = s.alternate ? (t === "X" ? "0X" : "0x") : "";
      every = 4;
      break;
    case "c":
      return pad("", "", String.fromCodePoint(Number(a)), s, "<");
    default:
      body = a.toString();
  }
  body = applyGrouping(body, s.grouping, every);
  return pad(signOf(negative, s), prefix, body, s, ">");
}

/** `format(x, spec)` for a Python int or float. */
export function formatPyNumber(x: PyNumber, spec = ""): string {
  const s = parseSpec(spec);
  return x.isInt ? formatIntSpec(x.value, s) : formatFloatSpec(x.value, s);
}

/**
 * `template.format(mapping)` for templates whose fields are all `{0[key]}` or `{0[key]:spec}`
 * (the form ModelCheckpoint rewrites file names into), with `{{` / `}}` as literal braces.
 * A key missing from `values` is Python's `KeyError`.
 */
export function formatIndexedTemplate(template: string, values: Record<string, PyNumber>): string {
  let out = "";
  let i = 0;
  while (i < template.length) {
    const c = template[i];
    if (c === "{") {
      if (template[i + 1] === "{") {
        out += "{";
        i += 2;
        continue;
      }
      const close = findFieldEnd(template, i + 1);
      if (close < 0) throw new PythonFormatError("expected '}' before end of string");
      out += formatField(template.slice(i + 1, close), values);
      i = close + 1;
    } else if (c === "}") {
      if (template[i + 1] !== "}") throw new PythonFormatError("Single '}' encountered in format string");
      out += "}";
      i += 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Index of the `}` closing a field opened just before `start` (brackets may hold any character but `]`). */
function findFieldEnd(t: string, start: number): number {
  let inBracket = false;
  for (let j = start; j < t.length; j++) {
    const c = t[j];
    if (inBracket) {
      if (c === "]") inBracket = false;
    } else if (c === "[") inBracket = true;
    else if (c === "}") return j;
  }
  return -1;
}

function formatField(field: string, values: Record<string, PyNumber>): string {
  const m = /^0\[([^\]]*)\](?:!([rsa]))?(?::(.*))?$/s.exec(field);
  if (!m) throw new PythonFormatError(`unsupported format field '{${field}}'`);
  const key = m[1];
  if (!Object.prototype.hasOwnProperty.call(values, key)) throw new PythonFormatError(`KeyError: ${pyStrRepr(key)}`);
  const v = values[key];
  if (m[2] !== undefined) {
    // `!r` / `!s` make a string first; for numbers that is repr/str, then the spec pads it.
    const str = v.isInt ? String(Math.trunc(v.value)) : pyFloatRepr(v.value);
    return padString(str, m[3] ?? "");
  }
  return formatPyNumber(v, m[3] ?? "");
}

function padString(str: string, spec: string): string {
  const s = parseSpec(spec);
  const body = s.precision !== null ? [...str].slice(0, s.precision).join("") : str;
  return pad("", "", body, s, "<");
}
