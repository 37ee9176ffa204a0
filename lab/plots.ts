import { rdPlotSvg, type Series } from '../eval/plot.ts';
import type { SummaryRow } from './summary.ts';

/*
 * The sweep's figures: against loss, one line per mode (the Gilbert–Elliott preset as its own
 * marker series at its 13.9%), for each task: completion, p50 and p99 final latency, fidelity and
 * UDP bytes. SVG from eval's plain-SVG plotter; the runner also rasterises them to PNG.
 */

export interface Figure {
  readonly name: string;
  readonly svg: string;
}

const PANELS: readonly { key: string; yLabel: string; value: (r: SummaryRow) => number | null }[] = [
  { key: 'complete', yLabel: 'sessions completed (%)', value: (r) => 100 * r.completeRate },
  { key: 'final-p50', yLabel: 'final result, p50 (ms)', value: (r) => r.finalP50Ms },
  { key: 'final-p99', yLabel: 'final result, p99 (ms)', value: (r) => r.finalP99Ms },
  { key: 'psnr', yLabel: 'PSNR vs lossless run, p50 (dB; identical = 60)', value: (r) => (r.psnrP50Db ?? (r.identicalRate ? 60 : null)) },
  { key: 'udp-bytes', yLabel: 'UDP bytes per session, p50', value: (r) => r.udpBytesP50 },
];

export function labFigures(rows: readonly SummaryRow[]): Figure[] {
  const figures: Figure[] = [];
  for (const task of [...new Set(rows.map((r) => r.task))]) {
    const mine = rows.filter((r) => r.task === task);
    for (const panel of PANELS) {
      if (panel.key === 'psnr' && task === 'vqa') continue;
      const series: Series[] = [];
      for (const mode of [...new Set(mine.map((r) => r.mode))]) {
        const points = (ge: boolean) =>
          mine
            .filter((r) => r.mode === mode && r.link.startsWith('ge') === ge)
            .flatMap((r) => {
              const y = panel.value(r);
              return y === null ? [] : [{ x: r.lossPercent, y }];
            });
        series.push({ name: mode, points: points(false) });
        const ge = points(true);
        if (ge.length) series.push({ name: `${mode}, GE WLAN`, points: ge });
      }
      if (series.every((s) => s.points.length === 0)) continue;
      figures.push({ name: `${task}-${panel.key}`, svg: rdPlotSvg(series, { title: `${task}: ${panel.yLabel}`, xLabel: 'loss each way (%)', yLabel: panel.yLabel }) });
    }
  }
  return figures;
}
