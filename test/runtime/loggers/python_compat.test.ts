import { describe, expect, it } from "vitest";

import { pythonFloatRepr, pythonNumberRepr, pythonStrCompare } from "../../../src/runtime/loggers/python_compat";

describe("Python spellings", () => {
  it("spells floats as CPython's repr()", () => {
    // Right-hand sides printed by CPython 3 for the same doubles.
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
    for (const [x, repr] of cases) expect(pythonFloatRepr(x), String(x)).toBe(repr);
  });

  it("takes exactly representable integers for ints and everything else for floats", () => {
    expect(pythonNumberRepr(3)).toBe("3");
    expect(pythonNumberRepr(-7)).toBe("-7");
    expect(pythonNumberRepr(2 ** 53 - 1)).toBe("9007199254740991");
    expect(pythonNumberRepr(2 ** 53)).toBe("9007199254740992.0");
    expect(pythonNumberRepr(0.25)).toBe("0.25");
    expect(pythonNumberRepr(10n ** 30n)).toBe("1000000000000000000000000000000");
  });

  it("orders strings by code point, as sorted() does", () => {
    const keys = ["b", "B", "_a", "a", "10", "9", "\u{1F600}", "\uFB01", "é"];
    expect([...keys].sort(pythonStrCompare)).toEqual(["10", "9", "B", "_a", "a", "b", "é", "\uFB01", "\u{1F600}"]);
    expect(pythonStrCompare("ab", "a")).toBe(1);
    expect(pythonStrCompare("a", "a")).toBe(0);
  });
});
