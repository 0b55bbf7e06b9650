import { tf } from "../../tf.ts";

/** PyTorch's repr of a boolean / tuple, for `extraRepr()`. */
export function pyBool(b: boolean): string {
  return b ? "True" : "False";
}

export function pyTuple(v: readonly number[]): string {
  return `(${v.join(", ")}${v.length === 1 ? "," : ""})`;
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Throws `<layer>: expected input of shape <expected>, got [...]`. */
export function expectInput(ok: boolean, layer: string, expected: string, x: tf.Tensor): void {
  if (!ok) throw new Error(`${layer}: expected input of shape ${expected}, got ${shapeStr(x.shape)}`);
}

/** Python's float repr for the usual constants (`1e-05`, `0.1`, `1.0`). */
export function pyFloat(v: number): string {
  if (Number.isInteger(v)) return `${v}.0`;
  if (v !== 0 && Math.abs(v) < 1e-4) {
    const [m, e] = v.toExponential().split("e");
    const exp = Number(e);
    return `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  return String(v);
}
