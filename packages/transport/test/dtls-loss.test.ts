import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WeriftPeer } from '../src/index.ts';
import type { SessionDescriptionJson } from '../src/index.ts';

/*
 * The DTLS handshake under single, chosen losses. werift sends a flight one datagram per
 * handshake message, so losing one message (not the whole flight) is the common case under random
 * loss, and it used to wedge setup for good: the client keyed flight 5 on a flight 4 without its
 * CertificateRequest; the server failed on a CertificateVerify whose Certificate was lost, and on a
 * retransmitted flight 5 it hashed the first copy's CertificateVerify into the master secret
 * (patches/werift). Two real werift peers on loopback, every datagram through a forwarder that
 * drops exactly the chosen one; both SDPs point at the forwarder.
 */

type Dropper = (datagram: Buffer) => boolean;

/** Handshake type of an unencrypted (epoch 0) DTLS handshake record, else null. */
function handshakeType(d: Buffer): number | null {
  if (d.length < 14 || d[0] !== 22 || d.readUInt16BE(3) !== 0) return null;
  return d[13] as number;
}

/** Drops the `nth` (from 1) datagram whose DTLS handshake message is of `type`, and nothing else. */
function dropNth(type: number, nth: number): Dropper {
  let seen = 0;
  return (d) => handshakeType(d) === type && ++seen === nth;
}

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

const candidatePort = (sdp: string) => Number(/a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/.exec(sdp)?.[1]);
const pointAt = (d: SessionDescriptionJson, from: number, to: number): SessionDescriptionJson => ({
  type: d.type,
  sdp: d.sdp.replaceAll(` 127.0.0.1 ${from} typ host`, ` 127.0.0.1 ${to} typ host`),
});

/** Connects two peers through one forwarding socket; resolves with how long opening took and what was dropped. */
async function openThrough(drop: Dropper): Promise<{ ms: number; dropped: number[] }> {
  const offerer = new WeriftPeer({ role: 'offerer', tokens: { mode: 'reliable' } });
  const answerer = new WeriftPeer({ role: 'answerer' });
  const forwarder = dgram.createSocket('udp4');
  cleanup.push(() => offerer.close(), () => answerer.close(), () => new Promise<void>((r) => forwarder.close(() => r())));
  await new Promise<void>((r) => forwarder.bind(0, '127.0.0.1', r));
  const via = (forwarder.address() as AddressInfo).port;
  const ports = { offerer: 0, answerer: 0 };
  const dropped: number[] = [];
  forwarder.on('message', (d, from) => {
    const to = from.port === ports.offerer ? ports.answerer : from.port === ports.answerer ? ports.offerer : 0;
    if (to === 0) return;
    if (drop(d)) return void dropped.push(handshakeType(d) as number);
    forwarder.send(d, to, '127.0.0.1');
  });
  const t0 = performance.now();
  const offer = await offerer.createOffer();
  ports.offerer = candidatePort(offer.sdp);
  const answer = await answerer.acceptOffer(pointAt(offer, ports.offerer, via));
  ports.answerer = candidatePort(answer.sdp);
  expect(ports.offerer * ports.answerer).toBeGreaterThan(0);
  await offerer.acceptAnswer(pointAt(answer, ports.answerer, via));
  await Promise.all([offerer.opened(), answerer.opened()]);
  return { ms: performance.now() - t0, dropped };
}

describe('DTLS setup with one handshake datagram lost', () => {
  // handshake types: 2 ServerHello, 11 Certificate (the server's in flight 4, then the client's in
  // flight 5), 13 CertificateRequest, 14 ServerHelloDone, 15 CertificateVerify, 16 ClientKeyExchange
  const cases: [string, Dropper, number][] = [
    ['nothing', () => false, -1],
    ['flight 4: the ServerHello', dropNth(2, 1), 2],
    ['flight 4: the CertificateRequest', dropNth(13, 1), 13],
    ["flight 4: the server's Certificate", dropNth(11, 1), 11],
    ["flight 5: the client's Certificate", dropNth(11, 2), 11],
    ['flight 5: the ClientKeyExchange', dropNth(16, 1), 16],
    ['flight 5: the CertificateVerify', dropNth(15, 1), 15],
  ];
  for (const [what, drop, type] of cases) {
    it(`opens when ${what} is lost (by a retransmission, within 6 s)`, async () => {
      const { ms, dropped } = await openThrough(drop);
      expect(dropped).toEqual(type < 0 ? [] : [type]);
      expect(ms).toBeLessThan(6_000);
    }, 15_000);
  }
});
