/**
 * The representation half of the PyYAML-compatible writer: JavaScript values to a tree of YAML
 * nodes, as PyYAML's `SafeRepresenter` turns Python values into nodes. This is where it is decided
 * how numbers, dates and `null` are spelled, and which strings would read back as another type
 * (and so may not be written plain).
 */
import { pyFloatRepr, pyStrCompare } from "../utilities/python_format.ts";

/** A value that YAML (as PyYAML's SafeDumper) cannot represent: a function, a class instance, a cycle… */
export class YamlRepresentationError extends Error {
  override name = "YamlRepresentationError";
}

/** `implicit`: written plain, the text would read back as this value (PyYAML's `implicit[0]`). */
export type ScalarNode = { kind: "scalar"; text: string; implicit: boolean };
export type SequenceNode = { kind: "sequence"; items: YamlNode[] };
export type MappingNode = { kind: "mapping"; pairs: Array<[ScalarNode, YamlNode]> };
export type YamlNode = ScalarNode | SequenceNode | MappingNode;

/**
 * The node tree for `value`. Plain objects become mappings with keys sorted as Python sorts them
 * (`sort_keys=True`), arrays sequences; `null` and `undefined` are YAML null.
 */
export function represent(value: unknown, where = "", ancestors: Set<object> = new Set()): YamlNode {
  if (value === null || value === undefined) return plain("null");
  switch (typeof value) {
    case "boolean":
      return plain(value ? "true" : "false");
    case "bigint":
      return plain(value.toString());
    case "number":
      return plain(representNumber(value));
    case "string":
      return { kind: "scalar", text: value, implicit: !resolvesToNonString(value) };
    case "object":
      break;
    default:
      throw new YamlRepresentationError(`${describe(where)} is a ${typeof value}, which YAML cannot represent`);
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new YamlRepresentationError(`${describe(where)} is an invalid Date`);
    return plain(representDate(value));
  }
  const obj = value as object;
  const isArray = Array.isArray(obj);
  const proto = Object.getPrototypeOf(obj);
  if (!isArray && proto !== Object.prototype && proto !== null) {
    const cls = (obj.constructor as { name?: string } | undefined)?.name ?? "object";
    throw new YamlRepresentationError(`${describe(where)} is a ${cls} instance, which YAML cannot represent`);
  }
  // PyYAML would write a shared object once with an anchor and refer back with an alias; cycles
  // are the only case where that is needed to terminate. A shared but acyclic object is simply
  // written out twice, which reads back to equal data.
  if (ancestors.has(obj)) throw new YamlRepresentationError(`${describe(where)} refers to itself`);
  ancestors.add(obj);
  try {
    if (isArray) {
      return {
        kind: "sequence",
        items: (obj as unknown[]).map((item, i) => represent(item, `${where}[${i}]`, ancestors)),
      };
    }
    const keys = Object.keys(obj).sort(pyStrCompare);
    return {
      kind: "mapping",
      pairs: keys.map((key) => [
        { kind: "scalar", text: key, implicit: !resolvesToNonString(key) },
        represent((obj as Record<string, unknown>)[key], where ? `${where}.${key}` : key, ancestors),
      ]),
    };
  } finally {
    ancestors.delete(obj);
  }
}

function describe(where: string): string {
  return where ? `value at ${JSON.stringify(where)}` : "the value";
}

function plain(text: string): ScalarNode {
  return { kind: "scalar", text, implicit: true };
}

/** `represent_int` / `represent_float`: ints as digits, floats from `repr()` with PyYAML's fixes. */
function representNumber(x: number): string {
  if (Number.isSafeInteger(x) && !Object.is(x, -0)) return String(x);
  if (Number.isNaN(x)) return ".nan";
  if (x === Infinity) return ".inf";
  if (x === -Infinity) return "-.inf";
  // `1e-05` is not a valid YAML 1.1 float (the `!!float` pattern needs a dot), so PyYAML inserts
  // `.0` before the exponent.
  const text = pyFloatRepr(x).toLowerCase();
  return !text.includes(".") && text.includes("e") ? text.replace("e", ".0e") : text;
}

/**
 * `represent_datetime` writes `datetime.isoformat(" ")`. A JavaScript Date is an instant, the
 * Python equivalent of an aware UTC datetime: `2024-01-02 03:04:05.250000+00:00`.
 */
function representDate(d: Date): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  const ms = d.getUTCMilliseconds();
  return `${date} ${time}${ms ? `.${pad(ms, 3)}000` : ""}+00:00`;
}

/**
 * PyYAML's implicit resolvers (YAML 1.1 types): a string that reads back as a bool, int, float,
 * null, timestamp, merge key, `=` or a node indicator must not be written plain, or it would come
 * back as that type (`"yes"` as True, `"1.5"` as a float, `""` as None).
 */
const IMPLICIT_RESOLVERS: readonly RegExp[] = [
  /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^(?:~|null|Null|NULL|)$/,
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/,
  /^(?:<<)$/,
  /^(?:=)$/,
  /^(?:!|&|\*)$/,
];

function resolvesToNonString(text: string): boolean {
  // Python's `$` also matches before one trailing newline; such strings are never written plain
  // (they contain a line break), so the difference cannot change the output.
  return IMPLICIT_RESOLVERS.some((re) => re.test(text));
}
