/** The median (the mean of the middle two for an even count), as every benchmark here reports it. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Mean ms per call of `fn` over `n` calls, after two warm-up calls. */
export function perCall(fn: () => void, n: number): number {
  fn();
  fn();
  const start = performance.now();
  for (let i = 0; i < n; i++) fn();
  return (performance.now() - start) / n;
}
