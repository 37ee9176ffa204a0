import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clearBandwidth,
  createLab,
  listNamespaces,
  readUdpCounters,
  removeStale,
  requireRoot,
  setBandwidth,
  setRandomDrop,
} from '../src/index.ts';
import type { Lab, LabSide } from '../src/index.ts';

const reason = requireRoot();
const PREFIX = 'umlabt'; // only this test's namespaces
const STALE = 'umlabs';
const TOOL = fileURLToPath(new URL('./fixtures/udp-tool.mjs', import.meta.url));

interface RecvResult {
  count: number;
  bytes: number;
  firstMs: number;
  lastMs: number;
}

let lab: Lab | null = null;
function theLab(): Lab {
  if (lab === null) throw new Error('lab not created');
  return lab;
}

/** Starts a receiver on `to`, sends from `from`, returns what the receiver got. */
async function transfer(
  from: LabSide,
  to: LabSide,
  send: { count: number; size: number; batch: number; gapMs: number },
  recv = { idleMs: 400, maxMs: 15_000 },
): Promise<RecvResult> {
  const l = theLab();
  const port = 40_000 + Math.floor(Math.random() * 10_000);
  const child = l.spawn(to.ns, process.execPath, [TOOL, 'recv', to.address, String(port), String(recv.idleMs), String(recv.maxMs)]);
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('receiver did not start')), 5_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  await l.exec(from.ns, process.execPath, [TOOL, 'send', to.address, String(port), String(send.count), String(send.size), String(send.batch), String(send.gapMs)], { timeoutMs: 20_000 });
  await exited;
  const line = out.split('\n').find((x) => x.startsWith('{'));
  if (line === undefined) throw new Error(`receiver printed no result: ${out}`);
  return JSON.parse(line) as RecvResult;
}

function hostNames(): string {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }) + execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
}

describe(reason ?? 'netns lab', { timeout: 30_000 }, () => {
  beforeAll(async () => {
    if (reason !== null) return;
    await removeStale(PREFIX);
    lab = await createLab({ prefix: PREFIX });
  }, 30_000);
  afterAll(async () => {
    await lab?.teardown();
  });

  it.skipIf(reason !== null)('creates two namespaces joined by a veth pair', async () => {
    const l = theLab();
    expect(await listNamespaces()).toEqual(expect.arrayContaining([`${PREFIX}0`, `${PREFIX}1`]));
    const { stdout } = await l.exec(l.a.ns, 'ip', ['-4', '-o', 'addr', 'show']);
    expect(stdout).toContain('127.0.0.1/8');
    expect(stdout).toContain(`${l.a.address}/30`);
    expect(hostNames()).not.toContain(`${PREFIX}0v`); // nothing on the host's link list
  });

  it.skipIf(reason !== null)('carries UDP both ways', async () => {
    const l = theLab();
    const ab = await transfer(l.a, l.b, { count: 200, size: 100, batch: 50, gapMs: 1 });
    const ba = await transfer(l.b, l.a, { count: 200, size: 100, batch: 50, gapMs: 1 });
    console.log(`A→B ${ab.count}/200, B→A ${ba.count}/200`);
    expect(ab.count).toBe(200);
    expect(ba.count).toBe(200);
  });

  it.skipIf(reason !== null)('drops ~20 % with nftables and counts it', async () => {
    const l = theLab();
    const N = 5_000;
    const beforeA = await readUdpCounters(l.a.ns);
    const beforeB = await readUdpCounters(l.b.ns);
    await setRandomDrop(l.a.ns, 'out', 20);
    try {
      const r = await transfer(l.a, l.b, { count: N, size: 100, batch: 100, gapMs: 2 });
      const afterA = await readUdpCounters(l.a.ns);
      const afterB = await readUdpCounters(l.b.ns);
      const seen = afterA.out.seen.packets - beforeA.out.seen.packets;
      const passed = afterA.out.passed.packets - beforeA.out.passed.packets;
      const arrived = afterB.in.passed.packets - beforeB.in.passed.packets;
      const loss = 1 - r.count / N;
      console.log(`nft 20 %: received ${r.count}/${N} (loss ${(loss * 100).toFixed(2)} %), counters A out seen ${seen} passed ${passed}, B in ${arrived}`);
      expect(loss).toBeGreaterThan(0.17); // binomial sd ≈ 0.57 %
      expect(loss).toBeLessThan(0.23);
      expect(seen).toBe(N);
      expect(afterA.out.seen.bytes - beforeA.out.seen.bytes).toBe(N * 128); // 100 B payload + UDP 8 + IPv4 20
      expect(passed).toBe(arrived);
      expect(Math.abs(arrived - r.count)).toBeLessThanOrEqual(2);
    } finally {
      await setRandomDrop(l.a.ns, 'out', 0);
    }
  });

  it.skipIf(reason !== null)('tbf limits throughput', async () => {
    const l = theLab();
    // 1,500 × 1,200 B at ~9.6 Mbit/s offered for ~1.5 s.
    const send = { count: 1_500, size: 1_200, batch: 10, gapMs: 10 };
    const rate = (r: RecvResult): number => ((r.bytes - send.size) * 8) / (r.lastMs - r.firstMs) / 1000; // Mbit/s
    const free = await transfer(l.a, l.b, send);
    await setBandwidth(l.a.ns, l.a.dev, { rateKbit: 1_000, burstBytes: 10_000, latencyMs: 100 });
    let shaped: RecvResult;
    try {
      shaped = await transfer(l.a, l.b, send);
    } finally {
      await clearBandwidth(l.a.ns, l.a.dev);
    }
    console.log(`tbf: unshaped ${rate(free).toFixed(2)} Mbit/s (${free.count} pkts), 1 Mbit tbf ${rate(shaped).toFixed(3)} Mbit/s (${shaped.count} pkts)`);
    expect(rate(free)).toBeGreaterThan(5);
    expect(rate(shaped)).toBeGreaterThan(0.7);
    expect(rate(shaped)).toBeLessThan(1.3);
  });

  it.skipIf(reason !== null)('teardown leaves nothing behind', async () => {
    await theLab().teardown();
    lab = null;
    expect((await listNamespaces()).filter((n) => n.startsWith(PREFIX))).toEqual([]);
    expect(hostNames()).not.toContain(PREFIX);
  });

  it.skipIf(reason !== null)('removeStale cleans up after a killed run', async () => {
    execFileSync('ip', ['netns', 'add', `${STALE}0`]);
    execFileSync('ip', ['link', 'add', `${STALE}0v`, 'type', 'veth', 'peer', 'name', `${STALE}1v`]);
    try {
      const removed = await removeStale(STALE);
      expect(removed).toContain(`${STALE}0`);
      // Deleting either veth end removes both; which one is listed first is the kernel's order.
      expect(removed.filter((n) => n === `${STALE}0v` || n === `${STALE}1v`)).toHaveLength(1);
      expect(hostNames()).not.toContain(STALE);
    } finally {
      try {
        execFileSync('ip', ['netns', 'del', `${STALE}0`], { stdio: 'ignore' });
      } catch {
        /* removed */
      }
    }
  });
});
