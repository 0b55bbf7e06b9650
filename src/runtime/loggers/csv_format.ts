/**
 * The CSV dialect of Lightning's `metrics.csv`: Python's `csv` module with its default "excel"
 * dialect, i.e. `,` separators, `"` quoting only where needed (QUOTE_MINIMAL, quotes doubled
 * inside), and `\r\n` after every row (Lightning opens the file with `newline=""`, so the `\r`
 * reaches the disk). Reading is needed too: when a new metric appears, Lightning re-reads the rows
 * already on disk and rewrites the file under the wider header.
 */

const LINE_TERMINATOR = "\r\n";

/** One field as `csv.writer` writes it: quoted only if it holds `,`, `"`, `\r` or `\n`. */
export function formatCsvField(field: string): string {
  if (/[,"\r\n]/.test(field)) return `"${field.replaceAll('"', '""')}"`;
  return field;
}

/**
 * One row including its line terminator. A row made of a single empty field is written as `""`,
 * as Python does, so that it is not read back as a blank line (which readers skip).
 */
export function formatCsvRow(fields: readonly string[]): string {
  if (fields.length === 1 && fields[0] === "") return `""${LINE_TERMINATOR}`;
  return fields.map(formatCsvField).join(",") + LINE_TERMINATOR;
}

/**
 * Parses CSV text into rows of fields (RFC 4180: quoted fields may contain separators, doubled
 * quotes and line breaks; rows end with `\r\n`, `\n` or `\r`). Blank lines are skipped, as
 * Python's `csv.DictReader` skips them.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let inQuotes = false;
  // Whether the current row has any content (a quoted empty field counts): distinguishes a
  // blank line from a row holding one empty field.
  let rowStarted = false;

  const endField = () => {
    row.push(field);
    field = "";
  };
  const endRow = () => {
    if (rowStarted) {
      endField();
      rows.push(row);
    }
    row = [];
    field = "";
    rowStarted = false;
  };

  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          inQuotes = false;
        }
      } else {
        field += ch;
      }
      continue;
    }
    if (ch === '"') {
      inQuotes = true;
      rowStarted = true;
    } else if (ch === ",") {
      endField();
      rowStarted = true;
    } else if (ch === "\r" || ch === "\n") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      endRow();
    } else {
      field += ch;
      rowStarted = true;
    }
  }
  if (inQuotes) throw new Error("CSV text ends inside a quoted field");
  endRow();
  return rows;
}
