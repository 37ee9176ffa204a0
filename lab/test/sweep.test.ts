import { describe, expect, it } from 'vitest';
import { createImpairmentProcess } from '@unimic/netlab';
import { labFigures } from '../plots.ts';
import type { SessionRecord } from '../record.ts';
import { labMetrics, percentile, summarize, summaryTable } from '../summary.ts';
import { expandSweep, impairmentFor, parseLink, parseMode, parseSweep } from '../sweep.ts';

describe('sweep specs', () => {
  it('parses link conditions, modes and lists; refuses what it cannot run', () => {
    expect(parseLink('loss:10')).toMatchObject({ name: 'loss10', nominalLossPercent: 10, delayMs: 0 });
    expect(parseLink('0').name).toBe('loss0');
    expect(parseLink('ge:wlan')).toMatchObject({ name: 'ge14', loss: { kind: 'ge-wlan' }, nominalLossPercent: 13.9 });
    expect(parseLink('loss:5+delay:40~10')).toMatchObject({ name: 'loss5+d40~10', delayMs: 40, jitterMs: 10 });
    expect(parseMode('partial').tokens).toEqual({ mode: 'maxRetransmits', n: 0 });
    expect(parseMode('life:200').tokens).toEqual({ mode: 'maxPacketLifeTime', ms: 200 });
    for (const bad of ['loss:100', 'burst', 'delay:x']) expect(() => parseLink(bad)).toThrow(RangeError);
    expect(() => parseMode('sometimes')).toThrow(RangeError);
    expect(() => parseSweep({ tasks: 'paint' })).toThrow(/task must be one of/);
    expect(() => parseSweep({ reps: '0' })).toThrow(/reps/);
    expect(() => parseSweep({ seeds: '-1' })).toThrow(/seeds/);
  });

  it('expands tasks × links × modes × seeds × reps, links outermost, each session indexed', () => {
    const spec = parseSweep({ tasks: 'inpaint,vqa', links: 'loss:0,loss:10,ge', modes: 'reliable,partial', seeds: '1,2', reps: 3 });
    const sessions = expandSweep(spec);
    expect(sessions).toHaveLength(2 * 3 * 2 * 2 * 3);
    expect(sessions.map((s) => s.index)).toEqual([...sessions.keys()]);
    expect(sessions.slice(0, 24).every((s) => s.link.name === 'loss0')).toBe(true);
  });

  it('gives every session and direction its own seed, and the same seed the same drops', () => {
    const [a, b] = expandSweep(parseSweep({ links: 'loss:20', modes: 'reliable', reps: 2 }));
    const drops = (imp: ReturnType<typeof impairmentFor>) => {
      const p = createImpairmentProcess(imp);
      return Array.from({ length: 2000 }, () => p.next().dropped);
    };
    expect(impairmentFor(a!, 'up').seed).not.toBe(impairmentFor(a!, 'down').seed);
    expect(impairmentFor(a!, 'up').seed).not.toBe(impairmentFor(b!, 'up').seed);
    expect(drops(impairmentFor(a!, 'up'))).toEqual(drops(impairmentFor(a!, 'up')));
    const rate = drops(impairmentFor(a!, 'up')).filter(Boolean).length / 2000;
    expect(rate).toBeGreaterThan(0.17);
    expect(rate).toBeLessThan(0.23);
  });
});

const record = (o: Partial<SessionRecord>): SessionRecord => ({
  index: 0, task: 'inpaint', link: 'loss0', lossPercent: 0, mode: 'reliable', seed: 1, rep: 0, outcome: 'ok',
  setupMs: 200, setupAttempts: 1, firstPreviewMs: 500, finalMs: 1000, tokenBytesUp: 300, tokenBytesDown: 150,
  udp: { up: { datagrams: 50, bytes: 5000, dropped: 0 }, down: { datagrams: 50, bytes: 5000, dropped: 0 } },
  cells: { total: 256, exact: 256, lost: 0, concealed: 0 }, psnrDb: null, identical: true, upStagesUsed: 8, ...o,
});

describe('summaries and metrics', () => {
  it('percentile is nearest-rank over finite values', () => {
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4], 99)).toBe(4);
    expect(percentile([], 50)).toBeNull();
    expect(percentile([NaN, 7], 50)).toBe(7);
  });

  it('rows per task, link and mode: completion, failures by code, latency, fidelity; the bench names', () => {
    const records = [
      record({ finalMs: 1000 }),
      record({ finalMs: 1200 }),
      record({ link: 'loss10', lossPercent: 10, finalMs: 1500 }),
      record({ link: 'loss10', lossPercent: 10, outcome: 'ERR_TIMEOUT', finalMs: null, setupMs: null }),
      record({ link: 'loss10', lossPercent: 10, mode: 'partial', identical: false, psnrDb: 31.5, cells: { total: 256, exact: 250, lost: 6, concealed: 6 } }),
    ];
    const rows = summarize(records);
    expect(rows.map((r) => `${r.link}/${r.mode}`)).toEqual(['loss0/reliable', 'loss10/partial', 'loss10/reliable']);
    const lossy = rows.find((r) => r.link === 'loss10' && r.mode === 'reliable')!;
    expect(lossy).toMatchObject({ sessions: 2, completed: 1, completeRate: 0.5, setupOkRate: 0.5, failures: { ERR_TIMEOUT: 1 }, finalP50Ms: 1500 });
    expect(rows.find((r) => r.mode === 'partial')).toMatchObject({ psnrP50Db: 31.5, identicalRate: 0, lostCellsMean: 6 });
    expect(rows[0]).toMatchObject({ psnrP50Db: null, identicalRate: 1, udpBytesP50: 10000, udpDatagramsP50: 100 });
    const names = Object.fromEntries(labMetrics(rows).map((m) => [m.name, m.value]));
    expect(names['lab.complete_rate.reliable.loss10']).toBe(0.5);
    expect(names['lab.final_p50_ms.reliable.loss0']).toBe(1000);
    expect(names['lab.final_p50_ratio.reliable.loss10']).toBe(1.5);
    expect(names['lab.setup_ok_rate.loss10']).toBeCloseTo(2 / 3, 3);
    expect(names['lab.udp_bytes_p50.inpaint.loss0']).toBe(10000);
    expect(summaryTable(rows)).toContain('| inpaint | loss10 | reliable | 2 | 50% |');
    const figures = labFigures(rows);
    expect(figures.map((f) => f.name)).toContain('inpaint-complete');
    expect(figures[0]!.svg).toMatch(/^<svg[\s\S]*<\/svg>$/);
  });
});
