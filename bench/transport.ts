import { connectSignaling, createSignalingServer, signalRelay } from '@unimic/signaling';
import { createPeerPair, negotiate, weriftPatchStatus, WeriftPeer } from '@unimic/transport';
import type { SessionDescriptionJson } from '@unimic/transport';
import { hasChromium, launchChromium } from '../packages/transport/test/chromium-harness.ts';
import { echoBursts, oneWayBursts } from '../packages/transport/test/latency.ts';
import { median, percentile, type Suite } from './harness.ts';

/**
 * werift data channels on loopback (see docs/transport.md).
 * - setup: signaling connect (ws, token auth) → session assigned → offer/answer/candidates relayed
 *   by the ws signaling server → both channels open; edge and cloud in one process; median of 5.
 * - small-message latency: bursts of 64 messages of 200 bytes on the tokens channel (reliable),
 *   20 ms apart, after 3 warm-up bursts. Node↔Node: one-way, sender and receiver in one process
 *   (one clock; both peers share its single thread, so each message's cost is paid twice on one
 *   core). Chromium↔Node: round trip / 2 through an echo in the page.
 * - throughput: reliable tokens channel, 16 KiB messages with the transport's backpressure, 16 MiB.
 */
const BURSTS = 30;

export const transportSuite: Suite = {
  name: 'transport',
  async run(report) {
    const patched = weriftPatchStatus().esm;
    const tag = patched ? 'werift patched' : 'werift UNPATCHED';

    const signaling = await createSignalingServer();
    const setups: number[] = [];
    for (let i = 0; i < 5; i++) {
      const cloudClient = await connectSignaling(signaling.url, signaling.mintToken('cloud', `bench-worker-${i}`));
      cloudClient.registerWorker();
      await new Promise((r) => setTimeout(r, 20));
      const t0 = performance.now();
      const edgeClient = await connectSignaling(signaling.url, signaling.mintToken('edge', `bench-edge-${i}`));
      const assigned = new Promise<string>((resolve) => {
        const sub = cloudClient.messages$.subscribe((m) => {
          if (m.type === 'session-assigned') {
            sub.unsubscribe();
            resolve(m.session);
          }
        });
      });
      const session = await edgeClient.openSession();
      await assigned;
      const edge = new WeriftPeer({ role: 'offerer', tokens: { mode: 'reliable' } });
      const cloud = new WeriftPeer({ role: 'answerer' });
      await Promise.all([negotiate(edge, signalRelay(edgeClient, session)), negotiate(cloud, signalRelay(cloudClient, session))]);
      setups.push(performance.now() - t0);
      await Promise.all([edge.close(), cloud.close()]);
      edgeClient.close();
      cloudClient.close();
    }
    await signaling.close();
    report({ name: 'transport.setup_ms', value: median(setups), unit: 'ms', note: `ws signaling connect → both channels open, median of 5, ${tag}` });

    {
      const { offerer, answerer } = await createPeerPair({ tokens: { mode: 'reliable' } });
      const lat = await oneWayBursts(offerer.tokens, answerer.tokens, { bursts: BURSTS, warmup: 3 });
      const note = `one-way, ${BURSTS}×64×200 B bursts, both peers in one process, ${tag}`;
      report({ name: 'transport.small_msg_latency_p50_ms', value: percentile(lat, 50), unit: 'ms', goal: { op: '<=', value: 5 }, note });
      report({ name: 'transport.small_msg_latency_p99_ms', value: percentile(lat, 99), unit: 'ms', goal: { op: '<=', value: 50 }, note });

      const total = 16 * 1024 * 1024;
      const msg = new Uint8Array(16 * 1024);
      const n = total / msg.length;
      let got = 0;
      const done = new Promise<void>((resolve) => {
        const sub = answerer.tokens.messages$.subscribe(() => {
          if (++got === n) {
            sub.unsubscribe();
            resolve();
          }
        });
      });
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await offerer.tokens.send(msg);
      await done;
      const mbps = (total * 8) / 1e6 / ((performance.now() - t0) / 1000);
      report({ name: 'transport.throughput_mbps', value: mbps, unit: 'Mbit/s', note: `reliable, 16 KiB messages, 16 MiB, one process, ${tag}` });
      await Promise.all([offerer.close(), answerer.close()]);
    }

    if (!hasChromium()) {
      process.stderr.write('transport: /usr/bin/chromium not found, skipping the Chromium latency\n');
      return;
    }
    const chromium = await launchChromium();
    try {
      const page = await chromium.newPage();
      const peer = new WeriftPeer({ role: 'offerer', tokens: { mode: 'reliable' } });
      const offer = await peer.createOffer();
      await peer.acceptAnswer(await page.call<SessionDescriptionJson>('answer', offer));
      await peer.opened();
      await page.call('opened', 5000);
      await page.call('setEcho', true);
      const lat = await echoBursts(peer.tokens, { bursts: BURSTS, warmup: 3 });
      const note = `RTT/2 via page echo, ${BURSTS}×64×200 B bursts, ${tag}`;
      report({ name: 'transport.chromium_small_msg_latency_p50_ms', value: percentile(lat, 50), unit: 'ms', note });
      report({ name: 'transport.chromium_small_msg_latency_p99_ms', value: percentile(lat, 99), unit: 'ms', note });
      await peer.close();
      await page.close();
    } finally {
      await chromium.close();
    }
  },
};
