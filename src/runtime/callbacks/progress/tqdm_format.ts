/**
 * The text of one progress line, as tqdm draws it with Lightning's `BAR_FORMAT`
 * (`"{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_noinv_fmt}{postfix}]"`):
 *
 *   Epoch 1:  45%|████▌     | 90/200 [00:03<00:04, 25.10it/s, v_num=0, train_loss=0.512]
 *
 * and the number formatting of the postfix (Lightning's `Tqdm.format_num`: three significant
 * digits, floats padded to five characters so the line does not jitter).
 */
import { formatPyNumber, pyFloat, pyFloatRepr, pyInt } from "../../utilities/python_format.ts";

/** How parts of the line are styled (identity functions for plain output). */
export interface LineStyle {
  desc(s: string): string;
  bar(s: string): string;
}

export const PLAIN_STYLE: LineStyle = { desc: (s) => s, bar: (s) => s };

/** tqdm's `format_interval`: `mm:ss`, or `h:mm:ss` from an hour on. */
export function formatInterval(seconds: number): string {
  const t = Math.max(0, Math.trunc(seconds));
  const mins = Math.floor(t / 60);
  const s = t % 60;
  const h = Math.floor(mins / 60);
  const m = mins % 60;
  const two = (x: number) => String(x).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

const PAD_SIZE = 5;

/** A postfix value as tqdm + Lightning show it: `0.512`, `1.000`, `1e-5`, `12345`, an int as is. */
export function formatNum(value: number, isInt: boolean): string {
  const str = isInt ? String(Math.trunc(value)) : pyFloatRepr(value);
  const g = formatPyNumber(isInt ? pyInt(value) : pyFloat(value), ".3g").replace("+0", "+").replace("-0", "-");
  let n = g.length < str.length ? g : str;
  // Lightning pads floats (not ints) so the width stays put as values change.
  if (!isInt && !n.includes("e")) {
    // (So `inf` shows as `inf.0`, exactly as in Lightning.)
    if (!n.includes(".") && n.length < PAD_SIZE) n += ".";
    n += "0".repeat(Math.max(0, PAD_SIZE - n.length));
  }
  return n;
}

/** A value shown after the bar: a number (float unless marked), or any text. */
export type PostfixValue = number | string | { value: number; isInt: boolean };

/** `k1=v1, k2=v2` (tqdm's `set_postfix`). */
export function formatPostfix(items: Record<string, PostfixValue>): string {
  return Object.entries(items)
    .map(([k, v]) => {
      if (typeof v === "number") return `${k}=${formatNum(v, false)}`;
      if (typeof v === "string") return `${k}=${v}`;
      return `${k}=${formatNum(v.value, v.isInt)}`;
    })
    .join(", ");
}

const CHARSET = " ▏▎▍▌▋▊▉█";

/** tqdm's unicode bar of `width` cells at `frac` ∈ [0, 1]. */
export function unicodeBar(frac: number, width: number): string {
  const nsyms = CHARSET.length - 1;
  const units = Math.trunc(Math.min(Math.max(frac, 0), 1) * width * nsyms);
  const full = Math.floor(units / nsyms);
  const part = units % nsyms;
  let res = CHARSET[nsyms].repeat(full);
  if (full < width) res += CHARSET[part] + CHARSET[0].repeat(width - full - 1);
  return res;
}

export interface MeterState {
  desc: string;
  n: number;
  /** Null when the length is unknown (an iterable without `length`). */
  total: number | null;
  elapsedSeconds: number;
  postfix: string;
}

/** The rate as tqdm's `rate_noinv_fmt`: `25.10it/s`, `?it/s` before the first item. */
function rateText(n: number, elapsed: number): { rate: number | null; text: string } {
  const rate = elapsed > 0 && n > 0 ? n / elapsed : null;
  return { rate, text: rate ? `${formatPyNumber(pyFloat(rate), "5.2f")}it/s` : "?it/s" };
}

/** The parts of the line around the bar, for a terminal (`width` columns) or a log (`width` null: no bar). */
export function formatMeter(state: MeterState, width: number | null, style: LineStyle = PLAIN_STYLE): string {
  const { n, total, elapsedSeconds, postfix } = state;
  const { rate, text: rateStr } = rateText(n, elapsedSeconds);
  const elapsed = formatInterval(elapsedSeconds);
  const post = postfix ? `, ${postfix}` : "";
  const prefix = state.desc ? `${state.desc}: ` : "";
  if (total === null || !(total > 0)) {
    // Unknown length: count and rate only, as tqdm without a total.
    return `${style.desc(prefix)}${n}/? [${elapsed}, ${rateStr}${post}]`;
  }
  const frac = Math.min(n / total, 1);
  const remaining = rate ? formatInterval((total - n) / rate) : "?";
  const pct = `${formatPyNumber(pyFloat(frac * 100), "3.0f")}%`;
  const rBar = `| ${n}/${total} [${elapsed}<${remaining}, ${rateStr}${post}]`;
  if (width === null) return `${style.desc(prefix)}${pct}${rBar}`;
  const lBar = `${prefix}${pct}|`;
  const nBars = Math.max(1, width - lBar.length - rBar.length);
  // A line wider than the terminal would wrap and break the redraw: cut it (bar at one cell).
  const line = `${style.desc(prefix)}${pct}|${style.bar(unicodeBar(frac, nBars))}${rBar}`;
  if (lBar.length + nBars + rBar.length <= width) return line;
  return [...`${prefix}${pct}|${unicodeBar(frac, nBars)}${rBar}`].slice(0, Math.max(width - 1, 0)).join("");
}
