import { bdRate } from './bd-rate.ts';
import type { RdRecord } from './measure.ts';
import { rdPlotSvg, type Series } from './plot.ts';

/** Per codec and target: how many images met it and the mean sizes and fidelities of the chosen points. */
export interface TargetSummary {
  codec: string;
  target: string;
  images: number;
  met: number;
  meanBytes: number;
  meanCodedBytes: number;
  meanBpp: number;
  meanPsnr: number;
  meanMsssim: number;
}

/** Per codec: its mean RD curve over the images (one point per sweep setting) and BD-rate against the anchor. */
export interface CurveSummary {
  codec: string;
  curve: { quality: number; bytes: number; codedBytes: number; bpp: number; psnr: number; msssim: number }[];
  /** BD-rate (%) of file bytes vs the anchor codec's mean curve, PSNR as the quality axis; null when not computable. */
  bdRateVsAnchor: number | null;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Means are over images; a record's target is `kind>=value` (or `bpp<=value`). */
export function summariseTargets(records: readonly RdRecord[]): TargetSummary[] {
  const groups = new Map<string, RdRecord[]>();
  for (const r of records) {
    if (!r.target) continue;
    const t = r.target.kind === 'bpp' ? `bpp<=${r.target.value}` : `${r.target.kind}>=${r.target.value}`;
    const key = `${r.codec}\u0000${t}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups].map(([key, rs]) => {
    const [codec, target] = key.split('\u0000') as [string, string];
    return {
      codec,
      target,
      images: rs.length,
      met: rs.filter((r) => r.target?.met).length,
      meanBytes: mean(rs.map((r) => r.bytes)),
      meanCodedBytes: mean(rs.map((r) => r.codedBytes)),
      meanBpp: mean(rs.map((r) => r.bpp)),
      meanPsnr: mean(rs.map((r) => r.psnr)),
      meanMsssim: mean(rs.map((r) => r.msssim)),
    };
  });
}

/** Mean curves of sweep records (no target), and BD-rate of each against `anchor` (default: the first codec). */
export function summariseCurves(records: readonly RdRecord[], anchor?: string): CurveSummary[] {
  const byCodec = new Map<string, Map<number, RdRecord[]>>();
  for (const r of records) {
    if (r.target) continue;
    const m = byCodec.get(r.codec) ?? new Map<number, RdRecord[]>();
    m.set(r.quality, [...(m.get(r.quality) ?? []), r]);
    byCodec.set(r.codec, m);
  }
  const curves = [...byCodec].map(([codec, m]) => ({
    codec,
    curve: [...m].map(([quality, rs]) => ({
      quality,
      bytes: mean(rs.map((r) => r.bytes)),
      codedBytes: mean(rs.map((r) => r.codedBytes)),
      bpp: mean(rs.map((r) => r.bpp)),
      psnr: mean(rs.map((r) => r.psnr)),
      msssim: mean(rs.map((r) => r.msssim)),
    })).sort((a, b) => a.bpp - b.bpp),
  }));
  const ref = curves.find((c) => c.codec === (anchor ?? curves[0]?.codec));
  return curves.map((c) => {
    let bd: number | null = null;
    try {
      if (ref) bd = bdRate(ref.curve.map((p) => ({ rate: p.bytes, quality: p.psnr })), c.curve.map((p) => ({ rate: p.bytes, quality: p.psnr })));
    } catch {
      bd = null; // fewer than 4 points, infinite PSNR, or no overlap
    }
    return { ...c, bdRateVsAnchor: bd };
  });
}

/** A fixed-width text table for the terminal. */
export function formatTable(rows: readonly Record<string, string | number | null>[]): string {
  if (rows.length === 0) return '(no rows)';
  const cols = Object.keys(rows[0] as object);
  const cell = (v: string | number | null | undefined) => (v === null || v === undefined ? '-' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padStart(widths[i] as number)).join('  ');
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}

/** The two RD plots (PSNR and MS-SSIM against bpp) from the mean curves, or from per-target means when there is no sweep. */
export function rdPlots(curves: readonly CurveSummary[], targets: readonly TargetSummary[]): { psnr: string; msssim: string } {
  const fromCurves = curves.length > 0;
  const series = (y: 'psnr' | 'msssim'): Series[] =>
    fromCurves
      ? curves.map((c) => ({ name: c.codec, points: c.curve.map((p) => ({ x: p.bpp, y: p[y] })) }))
      : [...new Set(targets.map((t) => t.codec))].map((codec) => ({
          name: codec,
          points: targets.filter((t) => t.codec === codec).map((t) => ({ x: t.meanBpp, y: y === 'psnr' ? t.meanPsnr : t.meanMsssim })),
        }));
  return {
    psnr: rdPlotSvg(series('psnr'), { title: 'Rate-distortion (mean over images)', xLabel: 'bpp (file bytes)', yLabel: 'PSNR RGB (dB)' }),
    msssim: rdPlotSvg(series('msssim'), { title: 'Rate-distortion (mean over images)', xLabel: 'bpp (file bytes)', yLabel: 'MS-SSIM RGB' }),
  };
}
