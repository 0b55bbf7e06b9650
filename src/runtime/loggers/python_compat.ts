/**
 * Python's spelling of numbers and Python's string order.
 *
 * Lightning's log files are written by Python: `metrics.csv` through the `csv` module (which
 * writes `repr(float)`), `hparams.yaml` through PyYAML (which starts from `repr(float)` too), and
 * both sort keys with Python's `sorted()`. Scripts and notebooks that read those files (pandas,
 * diff-based regression checks, people) see the same bytes from lightning-ts only if we spell and
 * order things the way Python does; JavaScript's `String(x)` and `Array.prototype.sort` differ.
 */

/**
 * `repr(x)` of a Python float.
 *
 * Both languages print the shortest digit string that round-trips, but they switch to
 * exponent notation at different points and spell the exponent differently: Python uses
 * scientific form when the decimal exponent is below -4 or at least 16 and pads the exponent
 * to two digits (`1e-05`, `1e+16`), and always keeps a fractional part in fixed form (`3.0`).
 */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";

  // toExponential() without an argument gives the shortest round-trip digits, the same digits
  // Python's repr chooses; only the layout differs.
  const [mantissa, expText] = x.toExponential().split("e");
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "").replace(".", "");
  const exponent = Number(expText);
  const sign = negative ? "-" : "";

  if (exponent < -4 || exponent >= 16) {
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : "";
    const expSign = exponent < 0 ? "-" : "+";
    const expDigits = String(Math.abs(exponent)).padStart(2, "0");
    return `${sign}${digits[0]}${frac}e${expSign}${expDigits}`;
  }
  if (exponent < 0) {
    return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
  }
  const intLen = exponent + 1;
  const intPart = digits.length >= intLen ? digits.slice(0, intLen) : digits.padEnd(intLen, "0");
  const fracPart = digits.length > intLen ? digits.slice(intLen) : "0";
  return `${sign}${intPart}.${fracPart}`;
}

/**
 * A JavaScript number spelled as Python would spell the value it most likely stands for.
 *
 * JavaScript has one number type where Python has `int` and `float`. An integral value in the
 * exactly-representable range is taken for an int (`epoch`, `batch_size`, `step`); anything else
 * is a float. Beyond 2^53 integral values come from float arithmetic, so they print as floats,
 * which is also what keeps `1e300` from turning into a 301-digit integer.
 */
export function pythonNumberRepr(x: number | bigint): string {
  if (typeof x === "bigint") return x.toString();
  if (Number.isSafeInteger(x)) return Object.is(x, -0) ? "0" : String(x);
  return pythonFloatRepr(x);
}

/**
 * Python's `str` ordering: by Unicode code point. JavaScript's default sort compares UTF-16 code
 * units, which puts characters above U+FFFF (stored as surrogates, 0xD800..) before
 * U+E000..U+FFFF; comparing code points removes that difference.
 */
export function pythonStrCompare(a: string, b: string): number {
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
