import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import type { SessionDescriptionJson, TokensReliability } from '../src/types.ts';

/**
 * Chromium (Debian `chromium`) driven by playwright-core, for interop tests and the bench.
 *
 * Loopback only: the page is served from 127.0.0.1, and Chromium gathers a 127.0.0.1 candidate
 * only with `--allow-loopback-in-peer-connection` *and* once the page may enumerate interfaces,
 * which it may after a (fake, auto-granted) getUserMedia. Both sides then drop every
 * non-loopback candidate, and the werift side answers no STUN request from a non-loopback
 * source, so no packet is ever addressed to anything but 127.0.0.1.
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const hasChromium = (): boolean => existsSync(CHROMIUM_PATH);

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  // loopback ICE candidates (see above)
  '--allow-loopback-in-peer-connection',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
];

/** The page's side: a browser RTCPeerConnection with the same two channels and heartbeat. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>unimic transport</title><script>
'use strict';
const state = { pc: null, ch: {}, info: {}, received: { control: [], tokens: [] }, echo: false, hb: null };
function loopbackOnly(sdp) {
  return sdp.split('\\r\\n').filter((l) => !l.startsWith('a=candidate:') ||
    (/ udp /i.test(l) && / 127\\.\\d+\\.\\d+\\.\\d+ /.test(l))).join('\\r\\n');
}
function adopt(dc) {
  dc.binaryType = 'arraybuffer';
  state.ch[dc.label] = dc;
  state.info[dc.label] = { ordered: dc.ordered, maxRetransmits: dc.maxRetransmits,
    maxPacketLifeTime: dc.maxPacketLifeTime, protocol: dc.protocol, readyState: dc.readyState };
  dc.onopen = () => { state.info[dc.label].readyState = 'open'; };
  dc.onmessage = (ev) => {
    if (typeof ev.data === 'string') return; // heartbeat / goodbye
    if (state.echo && dc.label === 'tokens') { dc.send(ev.data); return; }
    state.received[dc.label].push(Array.from(new Uint8Array(ev.data)));
  };
}
function startHeartbeat() {
  state.hb = setInterval(() => { const c = state.ch.control; if (c && c.readyState === 'open') c.send('hb'); }, 250);
}
async function gathered(pc) {
  if (pc.iceGatheringState !== 'complete') {
    await new Promise((r) => { pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r()); setTimeout(r, 5000); });
  }
  return { type: pc.localDescription.type, sdp: loopbackOnly(pc.localDescription.sdp) };
}
window.rtc = {
  async enableLoopback() {
    const s = await navigator.mediaDevices.getUserMedia({ audio: true });
    s.getTracks().forEach((t) => t.stop());
  },
  async answer(offer) {
    const pc = state.pc = new RTCPeerConnection({ iceServers: [] });
    pc.ondatachannel = (ev) => adopt(ev.channel);
    await pc.setRemoteDescription(offer);
    await pc.setLocalDescription(await pc.createAnswer());
    startHeartbeat();
    return gathered(pc);
  },
  async offer(tokensInit) {
    const pc = state.pc = new RTCPeerConnection({ iceServers: [] });
    adopt(pc.createDataChannel('control', { ordered: true }));
    adopt(pc.createDataChannel('tokens', tokensInit));
    await pc.setLocalDescription(await pc.createOffer());
    startHeartbeat();
    return gathered(pc);
  },
  async acceptAnswer(answer) { await state.pc.setRemoteDescription(answer); },
  /** Edge through the ws signaling server: hello → open-session → offer → answer. Returns the session. */
  async viaSignaling(url, token, tokensInit) {
    const ws = new WebSocket(url);
    const inbox = [];
    let wake = null;
    ws.onmessage = (ev) => { inbox.push(JSON.parse(ev.data)); if (wake) wake(); };
    const next = async (type) => {
      for (;;) {
        const i = inbox.findIndex((m) => m.type === type || m.type === 'error');
        if (i >= 0) { const m = inbox.splice(i, 1)[0]; if (m.type === 'error') throw new Error(m.code); return m; }
        await new Promise((r) => { wake = r; setTimeout(r, 100); });
      }
    };
    await new Promise((r, j) => { ws.onopen = r; ws.onerror = () => j(new Error('no signaling')); });
    ws.send(JSON.stringify({ type: 'hello', token }));
    await next('welcome');
    ws.send(JSON.stringify({ type: 'open-session' }));
    const { session } = await next('session-assigned');
    const offer = await window.rtc.offer(tokensInit);
    ws.send(JSON.stringify({ type: 'signal', session, data: { kind: 'sdp', description: offer } }));
    for (;;) {
      const m = await next('signal');
      if (m.data.kind === 'sdp' && m.data.description.type === 'answer') { await window.rtc.acceptAnswer(m.data.description); break; }
    }
    state.signaling = ws;
    return session;
  },
  async opened(ms) {
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      const c = state.ch.control, t = state.ch.tokens;
      if (c && t && c.readyState === 'open' && t.readyState === 'open') return true;
      await new Promise((r) => setTimeout(r, 10));
    }
    return false;
  },
  info() { return state.info; },
  send(label, bytes) { state.ch[label].send(new Uint8Array(bytes)); },
  received(label) { return state.received[label]; },
  setEcho(on) { state.echo = on; },
  close() { clearInterval(state.hb); state.pc && state.pc.close(); },
};
</script>`;

export interface ChromiumPage {
  page: Page;
  /** Calls `window.rtc[name](...args)` in the page. */
  call<T>(name: string, ...args: unknown[]): Promise<T>;
  close(): Promise<void>;
}

export interface ChromiumHarness {
  newPage(): Promise<ChromiumPage>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<ChromiumHarness> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const profile = mkdtempSync(join(tmpdir(), 'unimic-chromium-'));
  let ctx: BrowserContext;
  try {
    // a fresh --user-data-dir per launch (playwright passes it for a persistent context)
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
      headless: true,
      timeout: 20_000,
    });
  } catch (err) {
    server.close();
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    async newPage() {
      const page = await ctx.newPage();
      await page.goto(url);
      const call = <T>(name: string, ...args: unknown[]) =>
        page.evaluate(
          ([n, a]) => (window as unknown as { rtc: Record<string, (...x: unknown[]) => unknown> }).rtc[n as string]!(...(a as unknown[])),
          [name, args] as const,
        ) as Promise<T>;
      await call('enableLoopback');
      return {
        page,
        call,
        async close() {
          await call('close').catch(() => undefined);
          await page.close().catch(() => undefined);
        },
      };
    },
    async close() {
      await ctx.close().catch(() => undefined);
      server.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The page's RTCDataChannelInit for a tokens reliability mode. */
export function pageTokensInit(r: TokensReliability): Record<string, unknown> {
  if (r.mode === 'maxRetransmits') return { ordered: false, maxRetransmits: r.n };
  if (r.mode === 'maxPacketLifeTime') return { ordered: false, maxPacketLifeTime: r.ms };
  return { ordered: false };
}

export type { SessionDescriptionJson };
