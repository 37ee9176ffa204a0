import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireRoot } from '@unimic/netlab';
import { runLab } from '../lab/run.ts';
import { parseSweep } from '../lab/sweep.ts';
import type { SessionRecord } from '../lab/record.ts';

/*
 * The lab's mini sweep on a real link (two namespaces, the impairment relay on the ICE path):
 * inpainting at 0% and 10% loss each way, reliable and partial, one seed. Checks the records as
 * a user of the runner would read them, and that the files it promises are written.
 */

const notRoot = requireRoot();

describe.skipIf(notRoot !== null)(`npm run lab, mini sweep${notRoot ? ` (skipped: ${notRoot})` : ''}`, () => {
  it('0% and 10% loss × reliable and partial: a record per session, every field, summary and figures', async () => {
    const outDir = mkdtempSync(path.join(tmpdir(), 'umlab-sweep-'));
    process.env.SESSION_DEADLINE_MS = '30000'; // the edge agent's per-session bound (a stall costs 30 s, not 90)
    const spec = parseSweep({ tasks: 'inpaint', links: 'loss:0,loss:10', modes: 'reliable,partial', seeds: '1', reps: 1 });
    const result = await runLab({ spec, outDir, prefix: 'umlabs', addresses: ['10.213.11.1', '10.213.11.2'], progress: () => undefined, onRecord: () => undefined });
    const lines = readFileSync(path.join(outDir, 'records.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(4);
    const records = lines.map((l) => JSON.parse(l) as SessionRecord);
    expect(records.map((r) => `${r.link}/${r.mode}`)).toEqual(['loss0/reliable', 'loss0/partial', 'loss10/reliable', 'loss10/partial']);
    // partial mode at 10% can still stall on its control channel (open in #14, docs/lab.md): that
    // session must end with a typed code, every other one must complete
    const stalls = records.filter((r) => r.mode === 'partial' && r.link === 'loss10' && r.outcome !== 'ok');
    for (const r of stalls) expect(r.outcome).toMatch(/^ERR_[A-Z_]+$/);
    for (const r of records.filter((x) => !stalls.includes(x))) {
      expect(r.outcome).toBe('ok');
      expect(r.setupMs).toBeGreaterThan(0);
      expect(r.finalMs).toBeGreaterThan(0);
      expect(r.tokenBytesUp).toBeGreaterThan(0);
      // everything on UDP went through the relay, both ways; at 10% it dropped some
      expect(r.udp.up.datagrams).toBeGreaterThan(10);
      expect(r.udp.down.datagrams).toBeGreaterThan(10);
      expect(r.udp.up.bytes).toBeGreaterThan(r.tokenBytesUp as number);
      expect(r.cells?.total).toBe(256);
    }
    const [clean, , lossyReliable] = records as [SessionRecord, SessionRecord, SessionRecord, SessionRecord];
    expect(clean.udp.up.dropped + clean.udp.down.dropped).toBe(0);
    expect(records[2]!.udp.up.dropped + records[3]!.udp.up.dropped).toBeGreaterThan(0);
    // reliable: the output is exactly the lossless run's, with or without loss
    expect(clean.identical).toBe(true);
    expect(lossyReliable.identical).toBe(true);
    expect(lossyReliable.cells?.lost).toBe(0);
    for (const f of ['summary.md', 'metrics.json', 'inpaint-complete.svg', 'inpaint-complete.png', 'inpaint-final-p50.svg']) expect(existsSync(path.join(outDir, f))).toBe(true);
    const metrics = Object.fromEntries(result.metrics.map((m) => [m.name, m.value]));
    expect(metrics['lab.complete_rate.reliable.loss10']).toBe(1);
    expect(metrics['faults.worker_exits']).toBe(0);
  }, 400_000);
});
