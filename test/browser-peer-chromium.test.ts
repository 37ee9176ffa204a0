import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { firstValueFrom, filter, take, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WeriftPeer, installLossShim, type SessionDescriptionJson, type TokensReliability, type TransportState } from '../packages/transport/src/index.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../packages/transport/test/chromium-harness.ts';

/*
 * BrowserPeer (packages/transport/src/browser-peer.ts, bundled for the browser) in real Chromium
 * against a werift peer in Node, both roles: the DCEP announcement of the tokens channel, messages
 * both ways on both channels, backpressure on a deep send queue, the goodbye on close, and the
 * heartbeat finding a vanished peer.
 */

const root = path.resolve(import.meta.dirname, '..');
if (!existsSync(CHROMIUM_PATH)) console.warn(`browser-peer-chromium: ${CHROMIUM_PATH} not found, skipping (apt-get install -y chromium)`);

/** The page's side: BrowserPeer plus a few helpers the test calls through `window.bp`. */
const PAGE_ENTRY = `
import * as t from './packages/transport/src/browser.ts';
let peer = null;
const got = { control: [], tokens: [] };
const states = [];
let maxBuffered = 0;
function watch(p) {
  peer = p;
  p.state$.subscribe((s) => states.push(s));
  p.opened().then(() => {
    for (const label of ['control', 'tokens']) p[label].messages$.subscribe((m) => got[label].push(Array.from(m.subarray(0, 4)).concat([m.length])));
  }, () => undefined);
}
globalThis.bp = {
  allow: () => t.allowHostCandidates(),
  async offer(tokens) { watch(new t.BrowserPeer({ role: 'offerer', tokens })); return peer.createOffer(); },
  acceptAnswer: (a) => peer.acceptAnswer(a),
  async answer(offer) { watch(new t.BrowserPeer({ role: 'answerer' })); return peer.acceptOffer(offer); },
  opened: () => peer.opened().then(() => true),
  info: () => ({ reliability: peer.reliability, tokens: peer.tokensChannelInfo, max: peer.maxMessageSize }),
  async send(label, sizes) {
    for (const [i, n] of sizes.entries()) {
      const b = new Uint8Array(n);
      b[0] = i & 255; b[1] = (i >> 8) & 255;
      await peer[label].send(b);
      b.fill(7); // the caller may reuse its buffer once send resolved
      maxBuffered = Math.max(maxBuffered, peer[label].bufferedAmount);
    }
    return maxBuffered;
  },
  got: (label) => got[label],
  states: () => ({ states, reason: peer.failureReason }),
  close: () => peer.close(),
  async sendAfterClose() { try { await peer.control.send(new Uint8Array([1])); return 'sent'; } catch (e) { return e.code; } },
};
`;

describe.skipIf(!existsSync(CHROMIUM_PATH))('BrowserPeer in Chromium ↔ WeriftPeer', () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  let werift: WeriftPeer | null = null;

  beforeAll(async () => {
    const r = await build({ stdin: { contents: PAGE_ENTRY, resolveDir: root, loader: 'js' }, bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent' });
    const js = r.outputFiles[0]?.contents as Uint8Array;
    server = createServer((req, res) => {
      if (req.url === '/bp.js') return res.writeHead(200, { 'content-type': 'text/javascript' }), res.end(js);
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><meta charset="utf-8"><script type="module" src="/bp.js"></script>');
    });
    await new Promise<void>((r2) => server.listen(0, '127.0.0.1', r2));
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  }, 60_000);

  afterEach(async () => {
    await werift?.close();
    werift = null;
    await page?.close();
  });

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  async function newPage() {
    page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => 'bp' in globalThis);
    expect(await call<boolean>('allow')).toBe(true);
  }
  const call = <T>(name: string, ...args: unknown[]) =>
    page.evaluate(([n, a]) => (globalThis as unknown as { bp: Record<string, (...x: unknown[]) => unknown> }).bp[n as string]?.(...(a as unknown[])), [name, args] as const) as Promise<T>;
  const until = (peer: WeriftPeer, s: TransportState) => firstValueFrom(peer.state$.pipe(filter((x) => x === s)));

  it('offers: unordered maxRetransmits 0 tokens channel, messages both ways, backpressure, goodbye', async () => {
    await newPage();
    const tokens: TokensReliability = { mode: 'maxRetransmits', n: 0 };
    const offer = await call<SessionDescriptionJson>('offer', tokens);
    expect(offer.sdp).toMatch(/a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 /);
    expect(offer.sdp.split('\n').filter((l) => l.startsWith('a=candidate:') && !/ 127\./.test(l))).toEqual([]);
    werift = new WeriftPeer({ role: 'answerer' });
    await call('acceptAnswer', await werift.acceptOffer(offer));
    await werift.opened();
    expect(await call<boolean>('opened')).toBe(true);
    expect(werift.tokensChannelInfo).toEqual({ ordered: false, maxRetransmits: 0, maxPacketLifeTime: null });
    expect(werift.reliability).toEqual(tokens);
    expect(await call('info')).toEqual({ reliability: tokens, tokens: { ordered: false, maxRetransmits: 0, maxPacketLifeTime: null }, max: 65536 });

    // browser → werift: a deep queue of 16 KiB messages on the reliable channel arrives whole and in order
    const N = 160;
    const inbound = firstValueFrom(werift.control.messages$.pipe(take(N), toArray()));
    const maxBuffered = await call<number>('send', 'control', Array.from({ length: N }, () => 16 * 1024));
    const msgs = await inbound;
    expect(msgs.map((m) => m[0]! | (m[1]! << 8))).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(msgs.every((m) => m.length === 16 * 1024 && m[2] === 0)).toBe(true);
    // the queue did build up (so sends waited for bufferedamountlow), and never past the high-water mark
    console.log(`BrowserPeer backpressure: max bufferedAmount ${maxBuffered} B after a send`);
    expect(maxBuffered).toBeGreaterThan(64 * 1024);
    expect(maxBuffered).toBeLessThanOrEqual(256 * 1024 + 16 * 1024);

    // werift → browser on both channels
    await werift.control.send(new Uint8Array([9, 8, 7]));
    await werift.tokens.send(new Uint8Array([1, 2, 3, 4, 5]));
    await expect.poll(() => call('got', 'control'), { timeout: 3000 }).toEqual([[9, 8, 7, 3]]);
    await expect.poll(() => call('got', 'tokens'), { timeout: 3000 }).toEqual([[1, 2, 3, 4, 5]]);

    // an orderly close reaches werift as `closed` through the goodbye, within a heartbeat or two
    const closed = until(werift, 'closed');
    const t0 = performance.now();
    await call('close');
    await closed;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(werift.failureReason).toBe('closed by the remote peer');
    expect(await call('sendAfterClose')).toBe('ERR_SEND');
  }, 60_000);

  it('answers: learns maxPacketLifeTime from DCEP; finds a vanished werift peer by its heartbeat', async () => {
    await newPage();
    werift = new WeriftPeer({ role: 'offerer', tokens: { mode: 'maxPacketLifeTime', ms: 50 } });
    const answer = await call<SessionDescriptionJson>('answer', await werift.createOffer());
    await werift.acceptAnswer(answer);
    await werift.opened();
    expect(await call<boolean>('opened')).toBe(true);
    expect(await call('info')).toMatchObject({ reliability: { mode: 'maxPacketLifeTime', ms: 50 }, tokens: { ordered: false, maxPacketLifeTime: 50 } });

    const inbound = firstValueFrom(werift.tokens.messages$.pipe(take(1)));
    await call('send', 'tokens', [1000]);
    expect((await inbound).length).toBe(1000);

    // werift goes silent (every packet dropped): the page's heartbeat declares it lost
    installLossShim(werift, { loss: 0, scope: 'all' }).blackhole(true);
    await expect.poll(() => call<{ states: string[] }>('states').then((s) => s.states.at(-1)), { timeout: 5000, interval: 100 }).toBe('failed');
    expect((await call<{ reason: string }>('states')).reason).toMatch(/^peer lost: nothing received for \d+ ms$/);
  }, 60_000);
});
