import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { WLAN_TWO_STATE, createImpairmentProcess, createUdpRelay, meanBurstLength, randomLoss, stationaryLossRate } from '../src/index.ts';
import type { UdpRelay } from '../src/index.ts';
import { lossStats } from './stats.ts';

const BUF = 4 * 1024 * 1024;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function socket(onMessage?: (msg: Buffer, rinfo: dgram.RemoteInfo) => void): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  if (onMessage) s.on('message', onMessage);
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  s.setRecvBufferSize(BUF);
  s.setSendBufferSize(BUF);
  cleanups.push(() => new Promise<void>((resolve) => s.close(() => resolve())));
  return s;
}

async function relayTo(target: dgram.Socket, opts: Omit<Parameters<typeof createUdpRelay>[0], 'listen' | 'target'>): Promise<UdpRelay> {
  const port = (target.address() as AddressInfo).port;
  const relay = await createUdpRelay({ listen: { address: '127.0.0.1', port: 0 }, target: { address: '127.0.0.1', port }, ...opts });
  cleanups.push(() => relay.close());
  return relay;
}

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 1));
  }
}

function seqPacket(seq: number, size = 16): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt32BE(seq, 0);
  b.writeDoubleBE(performance.now(), 4);
  return b;
}

/** Sends `n` datagrams in batches; after each batch waits until everything the relay let through arrived. */
async function pump(client: dgram.Socket, relay: UdpRelay, n: number, arrived: () => number, batch = 500): Promise<void> {
  for (let start = 0; start < n; start += batch) {
    const end = Math.min(n, start + batch);
    for (let i = start; i < end; i++) client.send(seqPacket(i), relay.port, relay.address);
    await until(() => relay.stats().up.datagramsIn >= end, 5_000);
    await until(() => {
      const s = relay.stats().up;
      return s.pending === 0 && arrived() >= s.delivered + s.duplicated;
    }, 5_000);
  }
}

describe('udp relay on loopback', () => {
  it('applies the seeded WLAN loss to 100,000 datagrams, packet for packet', async () => {
    const N = 100_000;
    const got = new Uint8Array(N);
    let count = 0;
    const server = await socket((msg) => {
      got[msg.readUInt32BE(0)] = 1;
      count++;
    });
    const seed = 2024;
    const relay = await relayTo(server, { up: { loss: WLAN_TWO_STATE, seed } });
    const client = await socket();
    const t0 = Date.now();
    await pump(client, relay, N, () => count);
    const lost = Array.from(got, (x) => x === 0);
    const s = lossStats(lost);
    const st = relay.stats().up;
    console.log(
      `relay WLAN: ${N} sent in ${Date.now() - t0} ms, loss ${(s.rate * 100).toFixed(2)} % (expected ${(stationaryLossRate(WLAN_TWO_STATE) * 100).toFixed(2)}), ` +
        `burst ${s.meanBurst.toFixed(3)} (expected ${meanBurstLength(WLAN_TWO_STATE).toFixed(3)}), stats ${JSON.stringify(st)}`,
    );
    expect(st.datagramsIn).toBe(N);
    expect(st.bytesIn).toBe(N * 16);
    expect(st.dropped + st.delivered).toBe(N);
    expect(count).toBe(st.delivered); // nothing lost in the kernel on top of the model
    expect(Math.abs(s.rate - stationaryLossRate(WLAN_TWO_STATE))).toBeLessThan(0.005);
    expect(Math.abs(s.meanBurst - meanBurstLength(WLAN_TWO_STATE)) / meanBurstLength(WLAN_TWO_STATE)).toBeLessThan(0.03);
    // Exactly the pure model's decisions for that seed.
    const model = createImpairmentProcess({ loss: WLAN_TWO_STATE, seed });
    const expected = Array.from({ length: N }, () => model.next().dropped);
    expect(lost).toEqual(expected);
  }, 30_000);

  it('relays replies back with the down impairment', async () => {
    const N = 20_000;
    const server = await socket((msg, rinfo) => server.send(msg, rinfo.port, rinfo.address));
    const relay = await relayTo(server, { up: { loss: randomLoss(0.1), seed: 1 }, down: { loss: randomLoss(0.2), seed: 2 } });
    let back = 0;
    const client = await socket(() => back++);
    for (let start = 0; start < N; start += 500) {
      for (let i = start; i < start + 500; i++) client.send(seqPacket(i), relay.port, relay.address);
      await until(() => relay.stats().up.datagramsIn >= start + 500, 5_000);
      await until(() => relay.stats().down.datagramsIn >= relay.stats().up.delivered && back >= relay.stats().down.delivered, 5_000);
    }
    const { up, down } = relay.stats();
    console.log(`echo: up loss ${((up.dropped / up.datagramsIn) * 100).toFixed(2)} %, down loss ${((down.dropped / down.datagramsIn) * 100).toFixed(2)} %, round trip ${((back / N) * 100).toFixed(2)} % delivered`);
    expect(relay.stats().clients).toBe(1);
    expect(Math.abs(up.dropped / N - 0.1)).toBeLessThan(0.01);
    expect(Math.abs(down.dropped / down.datagramsIn - 0.2)).toBeLessThan(0.01);
    expect(back).toBe(down.delivered);
    expect(Math.abs(back / N - 0.72)).toBeLessThan(0.015);
  });

  it('delays by 30 ms ± 10 ms uniform jitter', async () => {
    const N = 400;
    const delays: number[] = [];
    const server = await socket((msg) => delays.push(performance.now() - msg.readDoubleBE(4)));
    const relay = await relayTo(server, { up: { delay: { delayMs: 30, jitterMs: 10, jitter: 'uniform' }, seed: 5 } });
    const client = await socket();
    for (let i = 0; i < N; i++) {
      client.send(seqPacket(i), relay.port, relay.address);
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 2));
    }
    await until(() => delays.length >= N, 5_000);
    const mean = delays.reduce((a, b) => a + b, 0) / N;
    const sd = Math.sqrt(delays.reduce((a, b) => a + (b - mean) ** 2, 0) / N);
    const min = delays.reduce((a, b) => Math.min(a, b), Infinity);
    const max = delays.reduce((a, b) => Math.max(a, b), -Infinity);
    console.log(`delay: mean ${mean.toFixed(2)} ms, sd ${sd.toFixed(2)} ms (uniform ±10 ⇒ 5.77), min ${min.toFixed(2)}, max ${max.toFixed(2)}`);
    expect(mean).toBeGreaterThan(29);
    expect(mean).toBeLessThan(34); // timers fire late, never early
    expect(sd).toBeGreaterThan(4.5);
    expect(sd).toBeLessThan(7.5);
    // Node timers have 1 ms granularity against a cached loop clock: up to ~1 ms early is normal.
    expect(min).toBeGreaterThanOrEqual(18.5);
    expect(max).toBeLessThan(50);
  });

  it('duplicates and reorders at the configured rates', async () => {
    const N = 20_000;
    const seen = new Uint8Array(N);
    let arrivals = 0;
    let dups = 0;
    let overtaken = 0;
    let maxSeq = -1;
    const server = await socket((msg) => {
      arrivals++;
      const seq = msg.readUInt32BE(0);
      if (seen[seq]) return void dups++;
      seen[seq] = 1;
      if (seq < maxSeq) overtaken++;
      else maxSeq = seq;
    });
    const relay = await relayTo(server, { up: { delay: { reorderRate: 0.05, reorderExtraMs: 15, duplicateRate: 0.05 }, seed: 9 } });
    const client = await socket();
    await pump(client, relay, N, () => arrivals);
    const st = relay.stats().up;
    console.log(`dup/reorder: duplicated ${((dups / N) * 100).toFixed(2)} % (relay ${st.duplicated}), overtaken ${((overtaken / N) * 100).toFixed(2)} % (relay held back ${st.reordered})`);
    expect(st.delivered).toBe(N);
    expect(dups).toBe(st.duplicated);
    expect(Math.abs(dups / N - 0.05)).toBeLessThan(0.006);
    expect(Math.abs(st.reordered / N - 0.05)).toBeLessThan(0.006);
    // A held-back packet is overtaken unless it was the last of its batch.
    expect(overtaken / N).toBeGreaterThan(0.04);
    expect(overtaken / N).toBeLessThan(0.06);
  });

  it('close() cancels pending timers and releases the port', async () => {
    let got = 0;
    const server = await socket(() => got++);
    const relay = await relayTo(server, { up: { delay: { delayMs: 200 } } });
    const client = await socket();
    for (let i = 0; i < 50; i++) client.send(seqPacket(i), relay.port, relay.address);
    await until(() => relay.stats().up.pending === 50, 2_000);
    await relay.close();
    expect(relay.stats().up.pending).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toBe(0);
    const again = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.bind(relay.port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => again.close(() => resolve()));
  });
});
