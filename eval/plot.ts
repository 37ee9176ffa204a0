import sharp from 'sharp';

/** One curve on a rate-fidelity plot. */
export interface Series {
  name: string;
  points: readonly { x: number; y: number }[];
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
}

const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const MARKERS = ['circle', 'square', 'triangle', 'diamond'] as const;

/** "Nice" tick values (1, 2, 5 x 10^k steps) covering [lo, hi]. */
export function ticks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const f = (v: number) => v.toFixed(1);

/** An RD plot as a standalone SVG string (no dependency): polyline + markers per series, ticked axes, legend. */
export function rdPlotSvg(series: readonly Series[], opts: PlotOptions): string {
  const W = opts.width ?? 720, H = opts.height ?? 480;
  const m = { left: 64, right: 150, top: 36, bottom: 52 };
  const pts = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const pad = (lo: number, hi: number) => (hi > lo ? [lo - (hi - lo) * 0.04, hi + (hi - lo) * 0.04] : [lo - 1, hi + 1]) as [number, number];
  const [x0, x1] = pts.length ? pad(Math.min(...pts.map((p) => p.x)), Math.max(...pts.map((p) => p.x))) : [0, 1];
  const [y0, y1] = pts.length ? pad(Math.min(...pts.map((p) => p.y)), Math.max(...pts.map((p) => p.y))) : [0, 1];
  const pw = W - m.left - m.right, ph = H - m.top - m.bottom;
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => m.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - m.right / 2}" y="22" text-anchor="middle" font-size="15">${esc(opts.title)}</text>`,
  ];
  for (const t of ticks(x0, x1)) {
    out.push(`<line x1="${f(sx(t))}" y1="${m.top}" x2="${f(sx(t))}" y2="${m.top + ph}" stroke="#eee"/>`);
    out.push(`<line x1="${f(sx(t))}" y1="${m.top + ph}" x2="${f(sx(t))}" y2="${m.top + ph + 5}" stroke="black"/>`);
    out.push(`<text x="${f(sx(t))}" y="${m.top + ph + 18}" text-anchor="middle">${t}</text>`);
  }
  for (const t of ticks(y0, y1)) {
    out.push(`<line x1="${m.left}" y1="${f(sy(t))}" x2="${m.left + pw}" y2="${f(sy(t))}" stroke="#eee"/>`);
    out.push(`<line x1="${m.left - 5}" y1="${f(sy(t))}" x2="${m.left}" y2="${f(sy(t))}" stroke="black"/>`);
    out.push(`<text x="${m.left - 8}" y="${f(sy(t) + 4)}" text-anchor="end">${t}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  out.push(`<text x="16" y="${m.top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${m.top + ph / 2})">${esc(opts.yLabel)}</text>`);
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length] as string;
    const shape = MARKERS[i % MARKERS.length] as (typeof MARKERS)[number];
    const ps = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).slice().sort((a, b) => a.x - b.x);
    out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${ps.map((p) => `${f(sx(p.x))},${f(sy(p.y))}`).join(' ')}"/>`);
    for (const p of ps) out.push(marker(shape, sx(p.x), sy(p.y), colour));
    const ly = m.top + 10 + i * 20, lx = m.left + pw + 14;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`);
    out.push(marker(shape, lx + 12, ly, colour));
    out.push(`<text x="${lx + 32}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

function marker(shape: (typeof MARKERS)[number], x: number, y: number, colour: string): string {
  const r = 4;
  switch (shape) {
    case 'circle': return `<circle cx="${f(x)}" cy="${f(y)}" r="${r}" fill="${colour}"/>`;
    case 'square': return `<rect x="${f(x - r)}" y="${f(y - r)}" width="${2 * r}" height="${2 * r}" fill="${colour}"/>`;
    case 'triangle': return `<polygon points="${f(x)},${f(y - r - 1)} ${f(x - r - 1)},${f(y + r)} ${f(x + r + 1)},${f(y + r)}" fill="${colour}"/>`;
    case 'diamond': return `<polygon points="${f(x)},${f(y - r - 1)} ${f(x + r + 1)},${f(y)} ${f(x)},${f(y + r + 1)} ${f(x - r - 1)},${f(y)}" fill="${colour}"/>`;
  }
}

/** Rasterises an SVG to PNG with sharp (librsvg), so reports can embed the plot where SVG is not shown. */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  return new Uint8Array(await sharp(Buffer.from(svg)).png().toBuffer());
}
