/**
 * Python number formatting, checked against values CPython 3 prints (`format(x, spec)`): the
 * rounding ties, repr notation and padding that checkpoint file names and messages depend on.
 */
import { describe, it, expect } from "vitest";
import { formatPyNumber, formatIndexedTemplate, pyFloat, pyInt, pyStrRepr, PythonFormatError } from "../../../src/runtime/callbacks/python_format";

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

describe("pyStrRepr", () => {
  it("quotes as Python's repr", () => {
    expect(pyStrRepr("val_loss")).toBe("'val_loss'");
    expect(pyStrRepr("it's")).toBe(`"it's"`);
    expect(pyStrRepr(`a'b"c`)).toBe(`'a\\'b"c'`);
  });
});
