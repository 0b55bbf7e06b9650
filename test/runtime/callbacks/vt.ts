/**
 * A tiny terminal emulator for the escape sequences progress bars use (Node's readline cursor
 * moves and clears, colours ignored): feeds it what was written to a fake TTY and returns the
 * screen, so tests can check what a user would actually see.
 */
export function renderScreen(output: string): string[] {
  const screen: string[] = [""];
  let row = 0;
  let col = 0;
  const line = () => {
    while (screen.length <= row) screen.push("");
    return screen[row];
  };
  const put = (ch: string) => {
    const l = line().padEnd(col, " ");
    screen[row] = l.slice(0, col) + ch + l.slice(col + 1);
    col++;
  };
  const re = /\x1b\[([0-9;?]*)([A-Za-z])|\x1b[78]|\n|\r|[^\x1b\n\r]/gu;
  for (const m of output.matchAll(re)) {
    const tok = m[0];
    if (tok === "\n") {
      row++;
      col = 0;
      line();
    } else if (tok === "\r") col = 0;
    else if (m[2] !== undefined) {
      const n = m[1] === "" ? 1 : Number(m[1].split(";")[0]);
      switch (m[2]) {
        case "A":
          row = Math.max(0, row - n);
          break;
        case "B":
          row += n;
          line();
          break;
        case "C":
          col += n;
          break;
        case "D":
          col = Math.max(0, col - n);
          break;
        case "G":
          col = n - 1;
          break;
        case "K": {
          const mode = m[1] === "" ? 0 : Number(m[1]);
          const l = line();
          if (mode === 0) screen[row] = l.slice(0, col);
          else if (mode === 1) screen[row] = " ".repeat(col + 1) + l.slice(col + 1);
          else screen[row] = "";
          break;
        }
        case "J":
          screen[row] = line().slice(0, col);
          screen.length = row + 1;
          break;
        default:
          // colours (m), cursor visibility (h/l): nothing on screen
          break;
      }
    } else if (tok.startsWith("\x1b")) {
      // save/restore cursor: unused by the bars
    } else put(tok);
  }
  return screen.map((l) => l.replace(/\s+$/, "")).filter((l, i, a) => l !== "" || a.slice(i).some((x) => x !== ""));
}

/** Removes colour codes. */
export function stripAnsi(s: string): string {
  return s.replace(/\x1b\[[0-9;]*m/g, "");
}
