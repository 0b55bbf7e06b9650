/**
 * A YAML writer whose output is byte-for-byte what PyYAML's `yaml.dump` / `yaml.safe_dump` write
 * (PyYAML >= 5.1 defaults: block style, `sort_keys=True`, `allow_unicode=False`, width 80,
 * indent 2) for the data JSON can hold, plus dates.
 *
 * Lightning writes `hparams.yaml` with PyYAML, and people diff, grep and re-load those files
 * across runs; matching PyYAML exactly (which strings get quoted and how, where long strings fold,
 * how floats are spelled, indentless lists under keys) means a lightning-ts run's file looks like
 * a Lightning run's. The scalar analysis and the three scalar writers are ports of PyYAML's
 * `Emitter` (`analyze_scalar`, `choose_scalar_style`, `write_plain`, `write_single_quoted`,
 * `write_double_quoted`); the collection handling is the subset of its state machine that block
 * style with empty collections in flow style (`[]`, `{}`) needs.
 *
 * A YAML 1.2 writer such as the `yaml` package is not a substitute: PyYAML cannot load what it
 * writes for a plain tab, U+2028, `<<`, `=` or DEL, and reads its `1e-7` back as a string.
 */
import { represent, type MappingNode, type ScalarNode, type SequenceNode, type YamlNode } from "./yaml_representer.ts";

export { YamlRepresentationError } from "./yaml_representer.ts";

/** Serialises `value` as one YAML document, ending with a newline. */
export function dumpYaml(value: unknown): string {
  const emitter = new Emitter();
  emitter.emitDocument(represent(value));
  return emitter.output;
}

interface Context {
  root?: boolean;
  sequence?: boolean;
  mapping?: boolean;
  simpleKey?: boolean;
}

interface ScalarAnalysis {
  scalar: string[]; // code points: Python indexes and measures strings by code point
  empty: boolean;
  multiline: boolean;
  allowBlockPlain: boolean;
  allowSingleQuoted: boolean;
}

const BEST_INDENT = 2;
const BEST_WIDTH = 80;
const STR_TAG_LENGTH = "!!str".length;
const LINE_BREAKS = "\n\x85\u2028\u2029";
const WHITESPACE_OR_END = "\0 \t\r\n\x85\u2028\u2029";
const ESCAPE_REPLACEMENTS: Readonly<Record<string, string>> = {
  "\0": "0",
  "\x07": "a",
  "\x08": "b",
  "\t": "t",
  "\n": "n",
  "\x0B": "v",
  "\x0C": "f",
  "\r": "r",
  "\x1B": "e",
  '"': '"',
  "\\": "\\",
  "\x85": "N",
  "\xA0": "_",
  "\u2028": "L",
  "\u2029": "P",
};

const isPrintableAscii = (ch: string) => ch >= "\x20" && ch <= "\x7E";

class Emitter {
  private readonly out: string[] = [];
  private column = 0;
  private whitespace = true;
  private indention = true;
  private openEnded = false;
  private indent: number | null = null;
  private readonly indents: Array<number | null> = [];
  private ctx: Context = {};

  get output(): string {
    return this.out.join("");
  }

  emitDocument(root: YamlNode): void {
    // The first document of a stream is implicit (no `---`) and `explicit_end` is off.
    this.emitNode(root, { root: true });
    this.writeIndent();
    if (this.openEnded) {
      this.writeIndicator("...", true);
      this.writeIndent();
    }
  }

  private emitNode(node: YamlNode, ctx: Context): void {
    this.ctx = ctx;
    if (node.kind === "scalar") {
      this.increaseIndent(true);
      this.processScalar(node);
      this.indent = this.indents.pop()!;
    } else if (node.kind === "sequence") {
      if (node.items.length === 0) this.emitEmptyFlow("[", "]");
      else this.emitBlockSequence(node);
    } else {
      if (node.pairs.length === 0) this.emitEmptyFlow("{", "}");
      else this.emitBlockMapping(node);
    }
  }

  /**
   * With `default_flow_style=False` PyYAML uses flow style only for empty collections, so no
   * scalar is ever written in flow context and the flow-only rules of its emitter never apply.
   */
  private emitEmptyFlow(open: string, close: string): void {
    this.writeIndicator(open, true, true);
    this.writeIndicator(close, false);
  }

  private emitBlockSequence(node: SequenceNode): void {
    // A list under a mapping key is written without extra indentation ("key:\n- a").
    const indentless = Boolean(this.ctx.mapping) && !this.indention;
    this.increaseIndent(false, indentless);
    for (const item of node.items) {
      this.writeIndent();
      this.writeIndicator("-", true, false, true);
      this.emitNode(item, { sequence: true });
    }
    this.indent = this.indents.pop()!;
  }

  private emitBlockMapping(node: MappingNode): void {
    this.increaseIndent(false);
    for (const [key, value] of node.pairs) {
      this.writeIndent();
      if (this.isSimpleKey(key)) {
        this.emitNode(key, { mapping: true, simpleKey: true });
        this.writeIndicator(":", false);
        this.emitNode(value, { mapping: true });
      } else {
        // Keys that are empty, multi-line or 128+ characters long use the explicit `? key` form.
        this.writeIndicator("?", true, false, true);
        this.emitNode(key, { mapping: true });
        this.writeIndent();
        this.writeIndicator(":", true, false, true);
        this.emitNode(value, { mapping: true });
      }
    }
    this.indent = this.indents.pop()!;
  }

  private isSimpleKey(key: ScalarNode): boolean {
    const a = analyzeScalar(key.text);
    // PyYAML's 128-character limit counts the key's tag as well, `!!str` (5 characters), even
    // though an implicit tag is never written.
    return a.scalar.length + STR_TAG_LENGTH < 128 && !a.empty && !a.multiline;
  }

  private processScalar(node: ScalarNode): void {
    const analysis = analyzeScalar(node.text);
    const style = this.chooseScalarStyle(node, analysis);
    const split = !this.ctx.simpleKey;
    if (style === '"') this.writeDoubleQuoted(analysis.scalar, split);
    else if (style === "'") this.writeSingleQuoted(analysis.scalar, split);
    else this.writePlain(analysis.scalar, split);
  }

  private chooseScalarStyle(node: ScalarNode, a: ScalarAnalysis): "" | "'" | '"' {
    const simpleKey = Boolean(this.ctx.simpleKey);
    if (node.implicit && !(simpleKey && (a.empty || a.multiline)) && a.allowBlockPlain) return "";
    if (a.allowSingleQuoted && !(simpleKey && a.multiline)) return "'";
    return '"';
  }

  // -- low-level writers ----------------------------------------------------------------------

  private write(data: string): void {
    this.out.push(data);
  }

  private increaseIndent(flow: boolean, indentless = false): void {
    this.indents.push(this.indent);
    if (this.indent === null) this.indent = flow ? BEST_INDENT : 0;
    else if (!indentless) this.indent += BEST_INDENT;
  }

  private writeIndent(): void {
    const indent = this.indent ?? 0;
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) {
      this.writeLineBreak();
    }
    if (this.column < indent) {
      this.whitespace = true;
      this.write(" ".repeat(indent - this.column));
      this.column = indent;
    }
  }

  private writeIndicator(indicator: string, needWhitespace: boolean, whitespace = false, indention = false): void {
    const data = this.whitespace || !needWhitespace ? indicator : ` ${indicator}`;
    this.whitespace = whitespace;
    this.indention = this.indention && indention;
    this.column += data.length;
    this.openEnded = false;
    this.write(data);
  }

  private writeLineBreak(data = "\n"): void {
    this.whitespace = true;
    this.indention = true;
    this.column = 0;
    this.write(data);
  }

  private writeText(chars: string[], start: number, end: number): void {
    this.column += end - start;
    this.write(chars.slice(start, end).join(""));
  }

  private writePlain(text: string[], split: boolean): void {
    if (this.ctx.root) this.openEnded = true;
    if (text.length === 0) return;
    if (!this.whitespace) {
      this.column += 1;
      this.write(" ");
    }
    this.whitespace = false;
    this.indention = false;
    // A plain scalar never contains line breaks (the analysis forbids it), so unlike PyYAML's
    // writer this one only has to handle folding at spaces.
    let spaces = false;
    let start = 0;
    for (let end = 0; end <= text.length; end++) {
      const ch = end < text.length ? text[end] : undefined;
      if (spaces) {
        if (ch !== " ") {
          if (start + 1 === end && this.column > BEST_WIDTH && split) {
            this.writeIndent();
            this.whitespace = false;
            this.indention = false;
          } else {
            this.writeText(text, start, end);
          }
          start = end;
        }
      } else if (ch === undefined || ch === " ") {
        this.writeText(text, start, end);
        start = end;
      }
      if (ch !== undefined) spaces = ch === " ";
    }
  }

  private writeSingleQuoted(text: string[], split: boolean): void {
    this.writeIndicator("'", true);
    let spaces = false;
    let breaks = false;
    let start = 0;
    for (let end = 0; end <= text.length; end++) {
      const ch = end < text.length ? text[end] : undefined;
      if (spaces) {
        if (ch === undefined || ch !== " ") {
          if (start + 1 === end && this.column > BEST_WIDTH && split && start !== 0 && end !== text.length) {
            this.writeIndent();
          } else {
            this.writeText(text, start, end);
          }
          start = end;
        }
      } else if (breaks) {
        if (ch === undefined || !LINE_BREAKS.includes(ch)) {
          // In a quoted scalar one line break folds to a space, so a real "\n" is written as
          // an empty line: the first break of a run is doubled.
          if (text[start] === "\n") this.writeLineBreak();
          for (const br of text.slice(start, end)) this.writeLineBreak(br);
          this.writeIndent();
          start = end;
        }
      } else if (ch === undefined || ch === " " || LINE_BREAKS.includes(ch) || ch === "'") {
        if (start < end) {
          this.writeText(text, start, end);
          start = end;
        }
      }
      if (ch === "'") {
        this.column += 2;
        this.write("''");
        start = end + 1;
      }
      if (ch !== undefined) {
        spaces = ch === " ";
        breaks = LINE_BREAKS.includes(ch);
      }
    }
    this.writeIndicator("'", false);
  }

  private writeDoubleQuoted(text: string[], split: boolean): void {
    this.writeIndicator('"', true);
    let start = 0;
    for (let end = 0; end <= text.length; end++) {
      const ch = end < text.length ? text[end] : undefined;
      if (ch === undefined || '"\\\x85\u2028\u2029\uFEFF'.includes(ch) || !isPrintableAscii(ch)) {
        if (start < end) {
          this.writeText(text, start, end);
          start = end;
        }
        if (ch !== undefined) {
          const data = escapeChar(ch);
          this.column += data.length;
          this.write(data);
          start = end + 1;
        }
      }
      if (
        end > 0 &&
        end < text.length - 1 &&
        (ch === " " || start >= end) &&
        this.column + (end - start) > BEST_WIDTH &&
        split
      ) {
        // Fold with an escaped line break; a leading space on the next line is escaped so that
        // it is not eaten as indentation.
        const data = text.slice(start, end).join("") + "\\";
        this.column += end - start + 1;
        if (start < end) start = end;
        this.write(data);
        this.writeIndent();
        this.whitespace = false;
        this.indention = false;
        if (text[start] === " ") {
          this.column += 1;
          this.write("\\");
        }
      }
    }
    this.writeIndicator('"', false);
  }
}

function escapeChar(ch: string): string {
  const named = ESCAPE_REPLACEMENTS[ch];
  if (named !== undefined) return `\\${named}`;
  const cp = ch.codePointAt(0)!;
  const hex = cp.toString(16).toUpperCase();
  if (cp <= 0xff) return `\\x${hex.padStart(2, "0")}`;
  if (cp <= 0xffff) return `\\u${hex.padStart(4, "0")}`;
  return `\\U${hex.padStart(8, "0")}`;
}

/**
 * PyYAML's `analyze_scalar` with `allow_unicode=False`: which styles can carry this text. Only
 * the verdicts that matter in block context are kept (PyYAML also works out flow-plain and
 * literal/folded eligibility, which `yaml.dump` never uses for these values).
 */
function analyzeScalar(value: string): ScalarAnalysis {
  const scalar = Array.from(value);
  if (scalar.length === 0) {
    return { scalar, empty: true, multiline: false, allowBlockPlain: true, allowSingleQuoted: true };
  }

  // Characters that mean something to a YAML parser where they stand ("- " at the start, ": "
  // or " #" anywhere, "---" as a document marker...) and so rule out the plain style.
  let blockIndicators = value.startsWith("---") || value.startsWith("...");
  let lineBreaks = false;
  let specialCharacters = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;

  let precededByWhitespace = true;
  let followedByWhitespace = scalar.length === 1 || WHITESPACE_OR_END.includes(scalar[1]);
  let previousSpace = false;
  let previousBreak = false;

  for (let index = 0; index < scalar.length;) {
    const ch = scalar[index];
    if (index === 0) {
      if ("#,[]{}&*!|>'\"%@`".includes(ch)) blockIndicators = true;
      if ((ch === "?" || ch === ":" || ch === "-") && followedByWhitespace) blockIndicators = true;
    } else {
      if (ch === ":" && followedByWhitespace) blockIndicators = true;
      if (ch === "#" && precededByWhitespace) blockIndicators = true;
    }

    if (LINE_BREAKS.includes(ch)) lineBreaks = true;
    // Without allow_unicode every character outside printable ASCII (but "\n") needs escaping,
    // which only the double-quoted style can do.
    if (!(ch === "\n" || isPrintableAscii(ch))) specialCharacters = true;

    if (ch === " ") {
      if (index === 0) leadingSpace = true;
      if (index === scalar.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (LINE_BREAKS.includes(ch)) {
      if (index === 0) leadingBreak = true;
      if (index === scalar.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }

    index++;
    precededByWhitespace = WHITESPACE_OR_END.includes(ch);
    followedByWhitespace = index + 1 >= scalar.length || WHITESPACE_OR_END.includes(scalar[index + 1]);
  }

  // Plain scalars lose leading/trailing whitespace and never span lines; single quotes cannot
  // carry a line that starts with a space, a space before a break, or escapes.
  const allowBlockPlain =
    !(leadingSpace || leadingBreak || trailingSpace || trailingBreak) &&
    !breakSpace &&
    !spaceBreak &&
    !specialCharacters &&
    !lineBreaks &&
    !blockIndicators;
  const allowSingleQuoted = !breakSpace && !spaceBreak && !specialCharacters;
  return { scalar, empty: false, multiline: lineBreaks, allowBlockPlain, allowSingleQuoted };
}
