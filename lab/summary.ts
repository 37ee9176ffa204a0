import type { SessionRecord } from './record.ts';

/*
 * From records to what people read: one row per (task, link condition, mode) with completion
 * rate, latency percentiles, fidelity and bytes on UDP; the metric names the bench prints. Pure.
 */

export interface SummaryRow {
  readonly task: string;
  readonly link: string;
  readonly lossPercent: number;
  readonly mode: string;
  readonly sessions: number;
  readonly completed: number;
  readonly completeRate: number;
  readonly setupOkRate: number;
  /** Outcomes other than ok, with counts. */
  readonly failures: Readonly<Record<string, number>>;
  readonly setupP50Ms: number | null;
  readonly finalP50Ms: number | null;
  readonly finalP99Ms: number | null;
  readonly firstPreviewP50Ms: number | null;
  /** Median PSNR against the reference (identical images count as +∞, so the median may be null = identical). */
  readonly psnrP50Db: number | null;
  readonly identicalRate: number | null;
  readonly lostCellsMean: number | null;
  readonly answerRightRate: number | null;
  readonly udpBytesP50: number | null;
  readonly udpDatagramsP50: number | null;
  readonly tokenBytesP50: number | null;
}

/** Nearest-rank percentile (p in 0..100) of finite values; null when there are none. */
export function percentile(values: readonly number[], p: number): number | null {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))] as number;
}

const mean = (v: readonly number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : null);

export function summarize(records: readonly SessionRecord[]): SummaryRow[] {
  const groups = new Map<string, SessionRecord[]>();
  for (const r of records) {
    const key = `${r.task}\u0000${r.link}\u0000${r.mode}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows: SummaryRow[] = [];
  for (const rs of groups.values()) {
    const first = rs[0] as SessionRecord;
    const ok = rs.filter((r) => r.outcome === 'ok');
    const failures: Record<string, number> = {};
    for (const r of rs) if (r.outcome !== 'ok') failures[r.outcome] = (failures[r.outcome] ?? 0) + 1;
    const images = ok.filter((r) => r.identical !== null);
    // identical images are +∞ dB: they sort above every finite PSNR
    const psnrs = images.map((r) => (r.identical ? Infinity : (r.psnrDb as number))).sort((a, b) => a - b);
    const mid = psnrs.length ? (psnrs[Math.ceil(psnrs.length / 2) - 1] as number) : null;
    const answers = ok.filter((r) => r.answerRight !== undefined);
    rows.push({
      task: first.task,
      link: first.link,
      lossPercent: first.lossPercent,
      mode: first.mode,
      sessions: rs.length,
      completed: ok.length,
      completeRate: ok.length / rs.length,
      setupOkRate: rs.filter((r) => r.setupMs !== null).length / rs.length,
      failures,
      setupP50Ms: percentile(rs.flatMap((r) => (r.setupMs === null ? [] : [r.setupMs])), 50),
      finalP50Ms: percentile(ok.map((r) => r.finalMs as number), 50),
      finalP99Ms: percentile(ok.map((r) => r.finalMs as number), 99),
      firstPreviewP50Ms: percentile(ok.map((r) => r.firstPreviewMs as number), 50),
      psnrP50Db: mid === null || !Number.isFinite(mid) ? null : mid,
      identicalRate: images.length ? images.filter((r) => r.identical).length / images.length : null,
      lostCellsMean: mean(ok.flatMap((r) => (r.cells ? [r.cells.lost] : []))),
      answerRightRate: answers.length ? answers.filter((r) => r.answerRight).length / answers.length : null,
      udpBytesP50: percentile(rs.map((r) => r.udp.up.bytes + r.udp.down.bytes), 50),
      udpDatagramsP50: percentile(rs.map((r) => r.udp.up.datagrams + r.udp.down.datagrams), 50),
      tokenBytesP50: percentile(ok.map((r) => (r.tokenBytesUp ?? 0) + (r.tokenBytesDown ?? 0)), 50),
    });
  }
  return rows.sort((a, b) => a.task.localeCompare(b.task) || a.lossPercent - b.lossPercent || a.link.localeCompare(b.link) || a.mode.localeCompare(b.mode));
}

const cell = (v: number | null, digits = 0) => (v === null ? '–' : v.toFixed(digits));

/** A Markdown table of the rows. */
export function summaryTable(rows: readonly SummaryRow[]): string {
  const head = '| task | link | mode | n | complete | setup p50 | first p50 | final p50 | final p99 | PSNR p50 | identical | lost cells | VQA right | UDP B p50 | datagrams p50 | failures |';
  const sep = '|' + head.split('|').slice(1, -1).map(() => '---').join('|') + '|';
  const lines = rows.map(
    (r) =>
      `| ${r.task} | ${r.link} | ${r.mode} | ${r.sessions} | ${(100 * r.completeRate).toFixed(0)}% | ${cell(r.setupP50Ms)} ms | ${cell(r.firstPreviewP50Ms)} ms | ${cell(r.finalP50Ms)} ms | ${cell(r.finalP99Ms)} ms | ${r.psnrP50Db === null ? (r.identicalRate ? '∞' : '–') : `${r.psnrP50Db.toFixed(1)} dB`} | ${r.identicalRate === null ? '–' : `${(100 * r.identicalRate).toFixed(0)}%`} | ${cell(r.lostCellsMean, 1)} | ${r.answerRightRate === null ? '–' : `${(100 * r.answerRightRate).toFixed(0)}%`} | ${cell(r.udpBytesP50)} | ${cell(r.udpDatagramsP50)} | ${Object.entries(r.failures).map(([k, n]) => `${k} ×${n}`).join(', ') || '–'} |`,
  );
  return [head, sep, ...lines].join('\n');
}

export interface Metric {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
}

/**
 * The bench's lab metrics: complete rates and p50s by mode and link (task-major names for bytes),
 * setup success, final-latency ratios over the same run's loss0.
 */
export function labMetrics(rows: readonly SummaryRow[]): Metric[] {
  const out: Metric[] = [];
  const byTask = new Map<string, SummaryRow[]>();
  for (const r of rows) byTask.set(r.task, [...(byTask.get(r.task) ?? []), r]);
  const primary = byTask.get('inpaint') ?? [...byTask.values()][0] ?? [];
  for (const r of primary) {
    out.push({ name: `lab.complete_rate.${r.mode}.${r.link}`, value: +r.completeRate.toFixed(3), unit: 'ratio' });
    if (r.finalP50Ms !== null) out.push({ name: `lab.final_p50_ms.${r.mode}.${r.link}`, value: r.finalP50Ms, unit: 'ms' });
    const base = primary.find((b) => b.mode === r.mode && b.link === 'loss0');
    if (base?.finalP50Ms && r.finalP50Ms !== null && r.link !== 'loss0') out.push({ name: `lab.final_p50_ratio.${r.mode}.${r.link}`, value: +(r.finalP50Ms / base.finalP50Ms).toFixed(2), unit: 'ratio' });
  }
  const links = [...new Set(rows.map((r) => r.link))];
  for (const link of links) {
    const rs = rows.filter((r) => r.link === link);
    const n = rs.reduce((a, r) => a + r.sessions, 0);
    out.push({ name: `lab.setup_ok_rate.${link}`, value: +(rs.reduce((a, r) => a + r.setupOkRate * r.sessions, 0) / n).toFixed(3), unit: 'ratio' });
  }
  for (const [task, rs] of byTask)
    for (const r of rs) if (r.udpBytesP50 !== null && r.mode === (rs.some((x) => x.mode === 'reliable') ? 'reliable' : r.mode)) out.push({ name: `lab.udp_bytes_p50.${task}.${r.link}`, value: r.udpBytesP50, unit: 'B' });
  return out;
}
