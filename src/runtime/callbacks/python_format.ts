/**
 * Python's number formatting (`format(x, spec)` and `str.format`) for the strings Lightning's
 * callbacks build with it: checkpoint file names (`"{epoch:02d}-{val_loss:.2f}"` →
 * `epoch=03-val_loss=0.12`) and the messages EarlyStopping and ModelCheckpoint print
 * (`f"{current}"`, `f"{best:.3f}"`).
 *
 * The point of reproducing Python rather than using `toFixed` is that file names must come out
 * exactly as Lightning's do: users move checkpoint-selection scripts between the two, and
 * `toFixed` differs from Python on ties (`0.125` → `.2f` is `0.12` in Python, `0.13` in JS) and
 * on the notation of small and large floats (`1e-05` vs `0.00001`). Rounding is therefore done
 * exactly, on the binary value, with round-half-even as CPython does.
 *
 * Numbers carry whether they are Python ints or floats: `{epoch}` is `3` but a logged metric
 * `{val_loss}` is `3.0`, because Lightning holds the epoch as an int tensor and every logged
 * value as a float tensor.
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

/** Shortest round-trip digits of |x| (x finite, non-zero) and the exponent of the first digit. */
function shortestDigits(x: number): { digits: string; exp: number } {
  const [mant, e] = Math.abs(x).toExponential().split("e");
  return { digits: mant.replace(".", ""), exp: Number(e) };
}

/** Python's `repr(float)` of |x| (sign handled by the caller). */
function floatRepr(x: number): string {
  if (x === 0) return "0.0";
  const { digits, exp } = shortestDigits(x);
  if (exp >= -4 && exp < 16) return placeDecimal(digits, exp, true);
  const tail = digits.length > 1 ? `.${digits.slice(1)}` : "";
  return `${digits[0]}${tail}${expSuffix(exp, false)}`;
}

/** Writes `0.d1d2… × 10^(exp+1)` in fixed notation; `dot0` appends `.0` to integers (repr style). */
function placeDecimal(digits: string, exp: number, dot0: boolean): string {
  if (exp < 0) return `0.${"0".repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return digits + "0".repeat(exp + 1 - digits.length) + (dot0 ? ".0" : "");
  return `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
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
        body = p === null ? floatRepr(x) : generalFormat(x, p, s.alternate, false, true);
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

/** `str(x)` / `f"{x}"` of a Python float: `3.0`, `0.1`, `1e-05`, `inf`, `nan`. */
export function pyFloatStr(x: number): string {
  return formatPyNumber(pyFloat(x));
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
  if (!Object.prototype.hasOwnProperty.call(values, key)) throw new PythonFormatError(`KeyError: '${key}'`);
  const v = values[key];
  if (m[2] !== undefined) {
    // `!r` / `!s` make a string first; for numbers that is repr/str, then the spec pads it.
    const str = v.isInt ? String(Math.trunc(v.value)) : pyFloatStr(v.value);
    return padString(str, m[3] ?? "");
  }
  return formatPyNumber(v, m[3] ?? "");
}

function padString(str: string, spec: string): string {
  const s = parseSpec(spec);
  const body = s.precision !== null ? [...str].slice(0, s.precision).join("") : str;
  return pad("", "", body, s, "<");
}

/** Python's `repr(str)`: single quotes unless the text holds one and no double quote. */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s
    .replace(/\\/g, "\\\\")
    .replace(/\n/g, "\\n")
    .replace(/\r/g, "\\r")
    .replace(/\t/g, "\\t")
    .split(quote)
    .join(`\\${quote}`);
  return `${quote}${body}${quote}`;
}
