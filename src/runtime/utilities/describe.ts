/** How an offending value is shown in an error message: strings quoted, objects by class. */
export function describeValue(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  if (typeof x === "string") return JSON.stringify(x);
  if (Array.isArray(x)) return `[${x.map(describeValue).join(", ")}]`;
  if (typeof x === "object") {
    const name = x.constructor?.name;
    if (!name || name === "Object") return "an object";
    return `${/^[AEIOU]/.test(name) ? "an" : "a"} ${name}`;
  }
  if (typeof x === "function") return `a function`;
  return String(x);
}
