/**
 * Bjøntegaard delta rate (VCEG-M33), the classic form: fit log(rate) as a cubic polynomial of PSNR for each
 * curve (least squares, so it takes 4 or more points), integrate both over the overlapping PSNR interval and
 * turn the mean log-rate gap into a percentage. Negative means `test` needs fewer bits than `anchor` for the
 * same quality. Any positive rate unit works (bytes, bpp) as long as both curves use it.
 */
export interface RdPoint {
  rate: number;
  quality: number;
}

export function bdRate(anchor: readonly RdPoint[], test: readonly RdPoint[]): number {
  const fa = fit(anchor), ft = fit(test);
  const lo = Math.max(min(anchor), min(test));
  const hi = Math.min(max(anchor), max(test));
  if (!(hi > lo)) throw new RangeError('BD-rate: the curves do not overlap in quality');
  const meanGap = (integral(ft, lo, hi) - integral(fa, lo, hi)) / (hi - lo);
  return (Math.exp(meanGap) - 1) * 100;
}

/** BD-PSNR: the mean quality gap (dB) over the overlapping log-rate interval, the dual of bdRate. */
export function bdPsnr(anchor: readonly RdPoint[], test: readonly RdPoint[]): number {
  const flip = (c: readonly RdPoint[]) => c.map((p) => ({ x: Math.log(p.rate), y: p.quality }));
  const a = flip(anchor), t = flip(test);
  const lo = Math.max(Math.min(...a.map((p) => p.x)), Math.min(...t.map((p) => p.x)));
  const hi = Math.min(Math.max(...a.map((p) => p.x)), Math.max(...t.map((p) => p.x)));
  if (!(hi > lo)) throw new RangeError('BD-PSNR: the curves do not overlap in rate');
  return (integral(polyfit(t, 3), lo, hi) - integral(polyfit(a, 3), lo, hi)) / (hi - lo);
}

const min = (c: readonly RdPoint[]) => Math.min(...c.map((p) => p.quality));
const max = (c: readonly RdPoint[]) => Math.max(...c.map((p) => p.quality));

function fit(curve: readonly RdPoint[]): Poly {
  if (curve.some((p) => !(p.rate > 0) || !Number.isFinite(p.quality))) throw new RangeError('BD-rate: rates must be > 0 and qualities finite');
  return polyfit(curve.map((p) => ({ x: p.quality, y: Math.log(p.rate) })), 3);
}

/** A least-squares polynomial in u = (x - mu) / s: x is centred and scaled so the normal equations stay well conditioned. */
export interface Poly {
  c: number[];
  mu: number;
  s: number;
}

export function evalPoly(p: Poly, x: number): number {
  const u = (x - p.mu) / p.s;
  return p.c.reduce((acc, k, i) => acc + k * u ** i, 0);
}

/** Least-squares polynomial fit by the normal equations with partial pivoting. */
export function polyfit(raw: readonly { x: number; y: number }[], degree: number): Poly {
  const n = degree + 1;
  const mu = raw.reduce((a, p) => a + p.x, 0) / raw.length;
  const s = Math.max(...raw.map((p) => Math.abs(p.x - mu))) || 1;
  const points = raw.map((p) => ({ x: (p.x - mu) / s, y: p.y }));
  if (points.length < n) throw new RangeError(`need at least ${n} points for a degree-${degree} fit`);
  const m: number[][] = Array.from({ length: n }, () => new Array<number>(n + 1).fill(0));
  for (const { x, y } of points)
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) (m[r] as number[])[c] = ((m[r] as number[])[c] as number) + x ** (r + c);
      (m[r] as number[])[n] = ((m[r] as number[])[n] as number) + y * x ** r;
    }
  // Gaussian elimination with partial pivoting.
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let r = col + 1; r < n; r++) if (Math.abs((m[r] as number[])[col] as number) > Math.abs((m[p] as number[])[col] as number)) p = r;
    [m[col], m[p]] = [m[p] as number[], m[col] as number[]];
    const pivot = m[col] as number[];
    if (Math.abs(pivot[col] as number) < 1e-300) throw new RangeError('polyfit: singular (repeated x values?)');
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const row = m[r] as number[];
      const f = (row[col] as number) / (pivot[col] as number);
      for (let c = col; c <= n; c++) row[c] = (row[c] as number) - f * (pivot[c] as number);
    }
  }
  return { c: m.map((row, i) => (row[n] as number) / (row[i] as number)), mu, s };
}

/** The integral of the fitted polynomial over x in [lo, hi] (dx = s du). */
function integral(p: Poly, lo: number, hi: number): number {
  const prim = (x: number) => {
    const u = (x - p.mu) / p.s;
    return p.c.reduce((acc, k, i) => acc + (k * u ** (i + 1)) / (i + 1), 0);
  };
  return p.s * (prim(hi) - prim(lo));
}
