import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

import { afterEach, describe, expect, it, vi } from "vitest";

import { hparamsToYaml, saveHparamsToYaml } from "../../../src/runtime/loggers/hparams_yaml";
import { YamlRepresentationError, dumpYaml } from "../../../src/runtime/loggers/yaml_emitter";
import { pyFloatRepr } from "../../../src/runtime/utilities/python_format";
import { tempDir } from "./tmp_dirs";

/** Debian's interpreter, where `apt-get install python3-yaml` puts PyYAML; else the one on PATH. */
const PYTHON = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

afterEach(() => {
  vi.restoreAllMocks();
});

// Every expected text below is the output of PyYAML 6.0 `yaml.dump(value)` (what Lightning's
// save_hparams_to_yaml calls) for the same data, pasted verbatim.
describe("hparams.yaml emitter (PyYAML-compatible)", () => {
  it("writes typical hyperparameters exactly as PyYAML does", () => {
    const value = {
      lr: 0.001,
      batch_size: 64,
      optimizer: "Adam",
      layers: [128, 64],
      model: { hidden: 256, dropout: 0.1, act: "relu" },
      use_bn: true,
      seed: null,
      notes: "",
      flag: "yes",
      version: "1.0",
      empty_list: [],
      empty_dict: {},
      weight_decay: 1e-5,
      path: "/data/fashion mnist",
      colon: "a: b",
      hash: "x #y",
      quote: "it's",
      unicode: "café",
      multi: "line1\nline2",
      nested: [{ a: 1, b: [1, 2] }, [3, 4]],
      big: 1e16,
      neg: -3,
      nan: Number.NaN,
      inf: Infinity,
      tab: "a\tb",
      star: "*",
      dash: "- x",
      num_str: "123",
      octal: "017",
      sci: "1e3",
      date_str: "2024-01-02",
    };
    expect(dumpYaml(value)).toBe(
      [
        "batch_size: 64",
        "big: 1.0e+16",
        "colon: 'a: b'",
        "dash: '- x'",
        "date_str: '2024-01-02'",
        "empty_dict: {}",
        "empty_list: []",
        "flag: 'yes'",
        "hash: 'x #y'",
        "inf: .inf",
        "layers:",
        "- 128",
        "- 64",
        "lr: 0.001",
        "model:",
        "  act: relu",
        "  dropout: 0.1",
        "  hidden: 256",
        "multi: 'line1",
        "",
        "  line2'",
        "nan: .nan",
        "neg: -3",
        "nested:",
        "- a: 1",
        "  b:",
        "  - 1",
        "  - 2",
        "- - 3",
        "  - 4",
        "notes: ''",
        "num_str: '123'",
        "octal: '017'",
        "optimizer: Adam",
        "path: /data/fashion mnist",
        "quote: it's",
        "sci: 1e3",
        "seed: null",
        "star: '*'",
        'tab: "a\\tb"',
        'unicode: "caf\\xE9"',
        "use_bn: true",
        "version: '1.0'",
        "weight_decay: 1.0e-05",
        "",
      ].join("\n"),
    );
  });

  it("folds long strings at 80 columns in each quoting style", () => {
    const value = {
      description: Array(30).fill("word").join(" "),
      quoted_long: "'" + Array(60).fill("w").join(" "),
      unicode_long: "é ".repeat(50),
    };
    expect(dumpYaml(value)).toBe(
      "description: word word word word word word word word word word word word word word\n" +
        "  word word word word word word word word word word word word word word word word\n" +
        "quoted_long: '''w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w\n" +
        "  w w w w w w w w w w w w w w w w w w w w w w w w w w w'\n" +
        'unicode_long: "\\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9\\\n' +
        "  \\ \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9\\\n" +
        "  \\ \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9\\\n" +
        '  \\ \\xE9 \\xE9 \\xE9 \\xE9 "\n',
    );
  });

  it("sorts keys by code point and quotes keys that would read back as other types", () => {
    expect(dumpYaml({ b: 1, B: 2, _a: 3, a: 4, "10": 5, "9": 6, é: 7, Z: 8 })).toBe(
      "'10': 5\n'9': 6\nB: 2\nZ: 8\n_a: 3\na: 4\nb: 1\n\"\\xE9\": 7\n",
    );
  });

  it("uses the explicit key form for empty and very long keys", () => {
    expect(dumpYaml({ "": 1, ["k".repeat(122)]: 2, ["j".repeat(123)]: 3 })).toBe(
      `? ''\n: 1\n? ${"j".repeat(123)}\n: 3\n${"k".repeat(122)}: 2\n`,
    );
  });

  it("writes empty mappings and root scalars as PyYAML does", () => {
    expect(dumpYaml({})).toBe("{}\n");
    expect(dumpYaml([])).toBe("[]\n");
    expect(dumpYaml("abc")).toBe("abc\n...\n");
    expect(dumpYaml("")).toBe("''\n");
  });

  it("writes dates as UTC timestamps and spells numbers like Python", () => {
    expect(dumpYaml({ at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 250)) })).toBe(
      "at: 2024-01-02 03:04:05.250000+00:00\n",
    );
    expect(dumpYaml([0.5, 1e-4, 1e-5, 123.456, -0.0, 1e22, 2 ** 53, 12n])).toBe(
      "- 0.5\n- 0.0001\n- 1.0e-05\n- 123.456\n- -0.0\n- 1.0e+22\n- 9007199254740992.0\n- 12\n",
    );
  });

  it("refuses values YAML cannot represent", () => {
    class Model {}
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => dumpYaml({ f: () => 1 })).toThrow(YamlRepresentationError);
    expect(() => dumpYaml({ m: new Model() })).toThrow(/Model instance/);
    expect(() => dumpYaml(cyclic)).toThrow(/refers to itself/);
    // Shared but acyclic data is fine: written out in full at each place.
    const shared = [1, 2];
    expect(dumpYaml({ a: shared, b: shared })).toBe("a:\n- 1\n- 2\nb:\n- 1\n- 2\n");
  });
});

/**
 * Values where a YAML 1.2 writer (the `yaml` npm package, even with `version: "1.1"`) writes text
 * that PyYAML, and so Lightning's `load_hparams_from_yaml`, reads differently or not at all: a
 * plain tab or U+2028 (a scanner error), `<<` and `=` (merge and value keys), DEL and other
 * characters PyYAML's reader rejects unescaped, floats without a dot (`1e-7` reads back as a
 * string), integral or negative-zero floats written as ints, a midnight date read as a date.
 */
const PYYAML_SENSITIVE = {
  tab: "a\tb",
  line_sep: "a\u2028b",
  nel: "a\x85b",
  merge: "<<",
  "<<": 1,
  value: "=",
  delete: "\x7f",
  bom: "\ufeffx",
  lr: 1e-7,
  eps: 1e-8,
  huge: 1e21,
  big: 1e16,
  neg_zero: -0,
  tiny: 5e-324,
  midnight: new Date(Date.UTC(2024, 0, 2)),
};

describe("hparams.yaml as PyYAML reads it", () => {
  it("writes what PyYAML writes where a YAML 1.2 writer would not", () => {
    // PyYAML 6.0's yaml.dump of the same data.
    expect(dumpYaml(PYYAML_SENSITIVE)).toBe(
      [
        "'<<': 1",
        "big: 1.0e+16",
        'bom: "\\uFEFFx"',
        'delete: "\\x7F"',
        "eps: 1.0e-08",
        "huge: 1.0e+21",
        'line_sep: "a\\Lb"',
        "lr: 1.0e-07",
        "merge: '<<'",
        "midnight: 2024-01-02 00:00:00+00:00",
        "neg_zero: -0.0",
        'nel: "a\\Nb"',
        'tab: "a\\tb"',
        "tiny: 5.0e-324",
        "value: '='",
        "",
      ].join("\n"),
    );
  });

  // PyYAML itself is the reader: CI installs Debian's python3-yaml (.ci/run) and must run this;
  // a developer machine without it relies on the expected texts above, which pin the same output.
  const hasPyYaml = spawnSync(PYTHON, ["-c", "import yaml"]).status === 0;
  it.skipIf(!hasPyYaml && process.env.CI !== "true")("reads back as the same values with yaml.full_load, which PyYAML dumps to the same text", () => {
    const values: unknown[] = [
      PYYAML_SENSITIVE,
      {
        lr: 0.001,
        weight_decay: 1e-5,
        layers: [128, 64],
        model: { hidden: 256, dropout: 0.1, act: "relu", nested: [{ a: 1 }, [2, 3], []] },
        use_bn: true,
        seed: null,
        strings: ["", "yes", "1.0", "017", "1e3", "a: b", "x #y", "it's", 'a"b', "- x", "*", "café", "line1\nline2", " lead", "trail "],
        nan: Number.NaN,
        inf: Infinity,
        ninf: -Infinity,
        big_int: 2 ** 53,
        at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 250)),
        long: Array(30).fill("word").join(" "),
        long_quoted: "'" + Array(60).fill("w").join(" "),
        long_unicode: "é ".repeat(50),
        ["k".repeat(130)]: 1,
        "": 2,
      },
    ];
    const script = [
      "import datetime, json, math, sys, yaml",
      "def tag(v):",
      "    if isinstance(v, bool) or v is None or isinstance(v, str): return v",
      "    if isinstance(v, int): return {'int': str(v)}",
      "    if isinstance(v, float): return {'float': repr(v)}",
      "    if isinstance(v, datetime.datetime): return {'datetime': v.isoformat(' ')}",
      "    if isinstance(v, list): return [tag(x) for x in v]",
      "    if isinstance(v, dict): return {k: tag(x) for k, x in v.items()}",
      "    return {'other': repr(v)}",
      "out = []",
      "for text in json.load(sys.stdin):",
      "    data = yaml.full_load(text)",
      "    out.append({'value': tag(data), 'same_text': yaml.dump(data) == text})",
      "json.dump(out, sys.stdout)",
    ].join("\n");
    const texts = values.map((v) => dumpYaml(v));
    const run = spawnSync(PYTHON, ["-c", script], { input: JSON.stringify(texts), encoding: "utf8" });
    expect(run.stderr).toBe("");
    const results = JSON.parse(run.stdout) as Array<{ value: unknown; same_text: boolean }>;
    expect(results.map((r) => r.value)).toEqual(values.map(asPython));
    expect(results.map((r) => r.same_text)).toEqual(values.map(() => true));
  });
});

/** `value` as PyYAML should hand it back, tagged as the script above tags Python values. */
function asPython(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && !Object.is(value, -0) ? { int: String(value) } : { float: pyFloatRepr(value) };
  }
  if (value instanceof Date) {
    const iso = value.toISOString().replace("T", " ").replace("Z", "");
    return { datetime: `${iso.endsWith(".000") ? iso.slice(0, -4) : `${iso}000`}+00:00` };
  }
  if (Array.isArray(value)) return value.map(asPython);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asPython(v)]));
  }
  return value;
}

describe("saveHparamsToYaml", () => {
  it("drops top-level values that cannot be dumped, with a warning, and keeps the rest", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    class Dataset {}
    expect(hparamsToYaml({ lr: 0.1, data: new Dataset(), loss_fn: () => 0, epochs: 3 })).toBe("epochs: 3\nlr: 0.1\n");
    const warnings = warn.mock.calls.flat().join("\n");
    expect(warnings).toMatch(/Skipping 'data' parameter/);
    expect(warnings).toMatch(/Skipping 'loss_fn' parameter/);
  });

  it("writes the file, and refuses a missing folder", () => {
    const dir = tempDir();
    const file = path.join(dir, "hparams.yaml");
    saveHparamsToYaml(file, { a: 1 });
    expect(fs.readFileSync(file, "utf8")).toBe("a: 1\n");
    expect(fs.readdirSync(dir)).toEqual(["hparams.yaml"]); // no temporary file left behind
    expect(() => saveHparamsToYaml(path.join(dir, "missing", "hparams.yaml"), {})).toThrow(/Missing folder/);
  });
});
