import { describe, expect, it } from "vitest";

import { formatCsvRow, parseCsv } from "../../../src/runtime/loggers/csv_format";

describe("CSV dialect", () => {
  it("quotes only fields that need it and ends rows with CRLF, as Python's csv module", () => {
    expect(formatCsvRow(["a", "b c", "1.5"])).toBe("a,b c,1.5\r\n");
    expect(formatCsvRow(["x,y", 'say "hi"', "two\nlines", "cr\r"])).toBe('"x,y","say ""hi""","two\nlines","cr\r"\r\n');
    expect(formatCsvRow(["", ""])).toBe(",\r\n");
    expect(formatCsvRow([""])).toBe('""\r\n');
  });

  it("parses what it writes, including quoted separators, quotes and line breaks", () => {
    const rows = [["h1", "h,2", 'h"3'], ["", "a\r\nb", "c"], [""], ["1", "", ""]];
    expect(parseCsv(rows.map(formatCsvRow).join(""))).toEqual(rows);
  });

  it("accepts LF-only files and skips blank lines", () => {
    expect(parseCsv("a,b\n1,2\n\n3,4")).toEqual([
      ["a", "b"],
      ["1", "2"],
      ["3", "4"],
    ]);
    expect(() => parseCsv('a,"b')).toThrow(/quoted/);
  });
});
