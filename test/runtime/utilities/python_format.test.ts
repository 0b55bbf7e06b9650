/**
 * Python's spellings, checked against what CPython 3.11 prints for the same values: `repr()` of
 * floats and strings, `format(x, spec)` (the rounding ties, repr notation and padding that
 * checkpoint file names, messages and the profiler's report depend on) and `sorted()`'s order.
 */
import { describe, it, expect } from "vitest";
import {
  formatIndexedTemplate,
  formatPyNumber,
  pyFloat,
  pyFloatRepr,
  pyInt,
  pyNumberRepr,
  pyRepr,
  pyStrCompare,
  pyStrRepr,
  PythonFormatError,
} from "../../../src/runtime/utilities/python_format";

describe("pyFloatRepr", () => {
  it("spells floats as CPython's repr()", () => {
    const cases: Array<[number, string]> = [
      [0.5, "0.5"],
      [1e-5, "1e-05"],
      [0.0001, "0.0001"],
      [1e16, "1e+16"],
      [1e15, "1000000000000000.0"],
      [1234567890123456, "1234567890123456.0"],
      [12345678901234567, "1.2345678901234568e+16"],
      [-0.001, "-0.001"],
      [1.5e-7, "1.5e-07"],
      [5e-324, "5e-324"],
      [1.7976931348623157e308, "1.7976931348623157e+308"],
      [0.1 + 0.2, "0.30000000000000004"],
      [3, "3.0"],
      [-2.5, "-2.5"],
      [100, "100.0"],
      [1e22, "1e+22"],
      [123.456, "123.456"],
      [-0, "-0.0"],
      [Number.NaN, "nan"],
      [Infinity, "inf"],
      [-Infinity, "-inf"],
    ];
    for (const [x, repr] of cases) expect(pyFloatRepr(x), String(x)).toBe(repr);
  });
});

describe("pyNumberRepr", () => {
  it("takes exactly representable integers for ints and everything else for floats", () => {
    expect(pyNumberRepr(3)).toBe("3");
    expect(pyNumberRepr(-7)).toBe("-7");
    expect(pyNumberRepr(-0)).toBe("0");
    expect(pyNumberRepr(2 ** 53 - 1)).toBe("9007199254740991");
    expect(pyNumberRepr(2 ** 53)).toBe("9007199254740992.0");
    expect(pyNumberRepr(0.25)).toBe("0.25");
    expect(pyNumberRepr(10n ** 30n)).toBe("1000000000000000000000000000000");
  });
});

describe("pyStrRepr", () => {
  it("picks the quote and escapes as Python's repr", () => {
    // [text, CPython's repr(text)]
    const cases: Array<[string, string]> = [
      ["val_loss", "'val_loss'"],
      ["it's", `"it's"`],
      ['a"b', `'a"b'`],
      [`a'b"c`, `'a\\'b"c'`],
      ["back\\slash", "'back\\\\slash'"],
      ["line\nbreak\ttab\rcr", "'line\\nbreak\\ttab\\rcr'"],
      ["\x00\x07\x1b\x7f", "'\\x00\\x07\\x1b\\x7f'"],
      ["café", "'café'"],
      ["\u00a0nbsp", "'\\xa0nbsp'"],
      ["\u00ad", "'\\xad'"],
      ["\x85", "'\\x85'"],
      ["\u2028", "'\\u2028'"],
      ["\ue000", "'\\ue000'"],
      ["\ud800", "'\\ud800'"],
      ["\u{1F600}", "'\u{1F600}'"],
      ["\u{E0001}", "'\\U000e0001'"],
      ["sp ace", "'sp ace'"],
    ];
    for (const [text, repr] of cases) expect(pyStrRepr(text), JSON.stringify(text)).toBe(repr);
  });
});

describe("pyRepr", () => {
  it("spells the settings of a callback's state key as Python's repr", () => {
    expect(pyRepr("val_loss")).toBe("'val_loss'");
    expect(pyRepr("it's")).toBe(`"it's"`);
    expect(pyRepr(null)).toBe("None");
    expect(pyRepr(undefined)).toBe("None");
    expect(pyRepr(true)).toBe("True");
    expect(pyRepr(false)).toBe("False");
    expect(pyRepr(3)).toBe("3");
    expect(pyRepr(1e-5)).toBe("1e-05");
    expect(pyRepr({ toString: () => "datetime.timedelta(seconds=60)" })).toBe("datetime.timedelta(seconds=60)");
  });
});

describe("pyStrCompare", () => {
  it("orders strings by code point, as sorted() does", () => {
    const keys = ["b", "B", "_a", "a", "10", "9", "\u{1F600}", "\uFB01", "é"];
    expect([...keys].sort(pyStrCompare)).toEqual(["10", "9", "B", "_a", "a", "b", "é", "\uFB01", "\u{1F600}"]);
    expect(pyStrCompare("ab", "a")).toBe(1);
    expect(pyStrCompare("a", "a")).toBe(0);
  });
});

// [value, isInt, spec, CPython's output]
const CASES: Array<[number, boolean, string, string]> = [
  [0.125, false, ".2f", "0.12"],
  [0.375, false, ".2f", "0.38"],
  [2.5, false, ".0f", "2"],
  [3.5, false, ".0f", "4"],
  [0.123456, false, ".2f", "0.12"],
  [1e-5, false, "", "1e-05"],
  [0.0001, false, "", "0.0001"],
  [1e16, false, "", "1e+16"],
  [1234567890123456.0, false, "", "1234567890123456.0"],
  [3.0, false, "", "3.0"],
  [0.1, false, "", "0.1"],
  [1 / 3, false, "", "0.3333333333333333"],
  [123.0, false, ".3", "1.23e+02"],
  [12.0, false, ".3", "12.0"],
  [1.0, false, ".3", "1.0"],
  [1.2345e-5, false, "g", "1.2345e-05"],
  [123456789.0, false, ",.2f", "123,456,789.00"],
  [-0.0001, false, "z.2f", "0.00"],
  [-0.0001, false, ".2f", "-0.00"],
  [0.5, false, ".1%", "50.0%"],
  [Infinity, false, ".2f", "inf"],
  [NaN, false, "", "nan"],
  [-Infinity, false, "F", "-INF"],
  [1234.5678, false, ".3e", "1.235e+03"],
  [9.9999, false, ".2f", "10.00"],
  [0.9995, false, ".3f", "1.000"],
  [99.5, false, ".3g", "99.5"],
  [0.00015, false, ".1g", "0.0001"],
  [2.675, false, ".2f", "2.67"],
  [3.14159, false, "+.2f", "+3.14"],
  [3.14159, false, "10.3f", "     3.142"],
  [3.14159, false, "<10.3f", "3.142     "],
  [3.14159, false, "^10.3f", "  3.142   "],
  [-3.14159, false, "010.3f", "-00003.142"],
  [3.14159, false, "x<8.1f", "3.1xxxxx"],
  [5e-324, false, "", "5e-324"],
  [1.7976931348623157e308, false, "", "1.7976931348623157e+308"],
  [5, true, "03d", "005"],
  [5, true, "02d", "05"],
  [12, true, "02d", "12"],
  [-7, true, "03d", "-07"],
  [1000000, true, ",d", "1,000,000"],
  [1000000, true, "_d", "1_000_000"],
  [255, true, "x", "ff"],
  [255, true, "#X", "0XFF"],
  [5, true, "b", "101"],
  [3, true, ".2f", "3.00"],
  [3, true, "e", "3.000000e+00"],
  [7, true, "", "7"],
  [7, true, "5d", "    7"],
  [7, true, "<5d", "7    "],
  [-7, true, "=+6d", "-    7"],
  // The profiler report's `f"{x:.5}"`.
  [12345.0, false, ".5", "1.2345e+04"],
  [99999.0, false, ".5", "9.9999e+04"],
  [9999.95, false, ".5", "1e+04"],
  [12.3125, false, ".5", "12.312"],
  [1234.5, false, ".5", "1234.5"],
  [100.0, false, ".5", "100.0"],
  [99.999999, false, ".5", "100.0"],
  [0.00012345678, false, ".5", "0.00012346"],
  [1.2345e-5, false, ".5", "1.2345e-05"],
  [0.0, false, ".5", "0.0"],
  [0.1 + 0.2, false, ".5", "0.3"],
];

describe("formatPyNumber", () => {
  it.each(CASES)("format(%s, int=%s, %j) is %j", (value, isInt, spec, want) => {
    expect(formatPyNumber({ value, isInt }, spec)).toBe(want);
  });

  it("refuses codes Python refuses, with Python's message", () => {
    expect(() => formatPyNumber(pyFloat(1.5), "d")).toThrow("Unknown format code 'd' for object of type 'float'");
    expect(() => formatPyNumber(pyInt(1), ".2")).toThrow(PythonFormatError);
    expect(() => formatPyNumber(pyInt(1), "q")).toThrow("Invalid format specifier");
  });
});

describe("formatIndexedTemplate", () => {
  it("fills {0[key]} fields, with specs, dotted and slashed keys, and literal braces", () => {
    const values = { epoch: pyInt(3), "val/acc": pyFloat(0.91234), "a.b": pyFloat(2) };
    expect(formatIndexedTemplate("e{0[epoch]:02d}-{0[val/acc]:.2f}-{0[a.b]}{{x}}", values)).toBe("e03-0.91-2.0{x}");
  });

  it("is Python's KeyError for a key that is not there", () => {
    expect(() => formatIndexedTemplate("{0[nope]}", {})).toThrow("KeyError: 'nope'");
  });
});

