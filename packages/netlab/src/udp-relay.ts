/**
 * Userspace UDP impairment relay.
 *
 * Why: this kernel has no netem, so Gilbert–Elliott burst loss, delay, jitter, reordering and
 * duplication for a real WebRTC session are applied here, in userspace, between the peers. A peer's
 * ICE candidate (or a test's target address) is rewritten to point at the relay's listen address;
 * the relay forwards each datagram to the real target and relays the target's replies back to the
 * original sender, with one seeded impairment per direction:
 *
 *   client ──(up)──▶ relay.listen ──▶ target        target ──(down)──▶ relay ──▶ client
 *
 * Each distinct client address:port gets its own upstream socket (so the target sees one 5-tuple per
 * client, as with a NAT); both directions share one impairment process each, so for the usual single
 * ICE pair the drop pattern is exactly the seeded one. Delays are timers; `close()` cancels them and
 * closes every socket.
 */
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { isIPv6 } from 'node:net';
import { createImpairmentProcess } from './impairment.ts';
import type { Impairment, ImpairmentProcess } from './impairment.ts';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export interface UdpRelayOptions {
  /** Where clients send; port 0 picks a free port. */
  readonly listen: Endpoint;
  readonly target: Endpoint;
  /** client → target. */
  readonly up?: Impairment;
  /** target → client. */
  readonly down?: Impairment;
  /** Distinct client addresses served; datagrams from further ones are rejected. Default 16. */
  readonly maxClients?: number;
  /** SO_RCVBUF / SO_SNDBUF for every socket (bytes), so bursts are not lost in the kernel. Default 4 MiB. */
  readonly socketBufferBytes?: number;
}

export interface DirectionStats {
  datagramsIn: number;
  bytesIn: number;
  /** Dropped by the loss model. */
  dropped: number;
  /** Original copies sent on. */
  delivered: number;
  bytesDelivered: number;
  /** Extra copies sent on (not counted in `delivered`). */
  duplicated: number;
  /** Copies held back by the reordering extra delay. */
  reordered: number;
  /** Copies waiting on a delay timer right now. */
  pending: number;
  /** Datagrams from a client beyond `maxClients` (up only). */
  rejected: number;
  /** Sends the OS refused (e.g. ENOBUFS). */
  sendErrors: number;
}

export interface RelayStats {
  readonly up: Readonly<DirectionStats>;
  readonly down: Readonly<DirectionStats>;
  readonly clients: number;
}

export interface UdpRelay {
  readonly address: string;
  readonly port: number;
  stats(): RelayStats;
  close(): Promise<void>;
}

interface Direction {
  readonly fate: ImpairmentProcess;
  readonly stats: DirectionStats;
}

export async function createUdpRelay(options: UdpRelayOptions): Promise<UdpRelay> {
  const maxClients = options.maxClients ?? 16;
  if (!(Number.isInteger(maxClients) && maxClients >= 1)) throw new RangeError(`maxClients must be ≥ 1, got ${maxClients}`);
  const bufferBytes = options.socketBufferBytes ?? 4 * 1024 * 1024;
  const target = options.target;
  const up: Direction = { fate: createImpairmentProcess(options.up ?? {}), stats: emptyStats() };
  const down: Direction = { fate: createImpairmentProcess(options.down ?? {}), stats: emptyStats() };
  const timers = new Set<NodeJS.Timeout>();
  const upstream = new Map<string, dgram.Socket>();
  let closed = false;

  const listen = dgram.createSocket({ type: isIPv6(options.listen.address) ? 'udp6' : 'udp4' });
  await bind(listen, options.listen.port, options.listen.address);
  setBuffers(listen, bufferBytes);

  const forward = (dir: Direction, msg: Buffer, via: dgram.Socket, port: number, address: string): void => {
    const s = dir.stats;
    s.datagramsIn++;
    s.bytesIn += msg.length;
    const fate = dir.fate.next();
    if (fate.dropped) {
      s.dropped++;
      return;
    }
    fate.copies.forEach((delayMs, i) => {
      const send = (): void => {
        if (closed) return;
        via.send(msg, port, address, (err) => {
          if (err) s.sendErrors++;
        });
        if (i === 0) {
          s.delivered++;
          s.bytesDelivered += msg.length;
        } else s.duplicated++;
      };
      if (i === 0 && fate.reordered) s.reordered++;
      if (delayMs <= 0) return send();
      s.pending++;
      const t = setTimeout(() => {
        timers.delete(t);
        s.pending--;
        send();
      }, delayMs);
      timers.add(t);
    });
  };

  const upstreamFor = async (rinfo: dgram.RemoteInfo): Promise<dgram.Socket | null> => {
    const key = `${rinfo.address}|${rinfo.port}`;
    const existing = upstream.get(key);
    if (existing) return existing;
    if (upstream.size >= maxClients) return null;
    const sock = dgram.createSocket({ type: isIPv6(target.address) ? 'udp6' : 'udp4' });
    upstream.set(key, sock);
    sock.on('message', (msg, from) => {
      // Only the target's replies go back; anything else reaching this socket is not ours to relay.
      if (from.port !== target.port || from.address !== target.address) return;
      forward(down, msg, listen, rinfo.port, rinfo.address);
    });
    sock.on('error', () => undefined);
    await bind(sock, 0);
    setBuffers(sock, bufferBytes);
    return sock;
  };

  // Datagrams arriving while a new client's upstream socket binds are queued in order.
  const waiting = new Map<string, Array<[Buffer, dgram.RemoteInfo]>>();
  listen.on('message', (msg, rinfo) => {
    const key = `${rinfo.address}|${rinfo.port}`;
    const sock = upstream.get(key);
    if (sock && !waiting.has(key)) return forward(up, msg, sock, target.port, target.address);
    const queue = waiting.get(key);
    if (queue) return void queue.push([msg, rinfo]);
    if (upstream.size >= maxClients) {
      up.stats.rejected++;
      return;
    }
    waiting.set(key, [[msg, rinfo]]);
    void upstreamFor(rinfo).then((s) => {
      const q = waiting.get(key) ?? [];
      waiting.delete(key);
      if (s === null || closed) return;
      for (const [m] of q) forward(up, m, s, target.port, target.address);
    }, () => {
      waiting.delete(key);
      upstream.delete(key);
      up.stats.sendErrors++;
    });
  });
  listen.on('error', () => undefined);

  const addr = listen.address() as AddressInfo;
  return {
    address: addr.address,
    port: addr.port,
    stats: () => ({ up: { ...up.stats }, down: { ...down.stats }, clients: upstream.size }),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      up.stats.pending = 0;
      down.stats.pending = 0;
      await Promise.all([listen, ...upstream.values()].map(closeSocket));
      upstream.clear();
    },
  };
}

function emptyStats(): DirectionStats {
  return {
    datagramsIn: 0,
    bytesIn: 0,
    dropped: 0,
    delivered: 0,
    bytesDelivered: 0,
    duplicated: 0,
    reordered: 0,
    pending: 0,
    rejected: 0,
    sendErrors: 0,
  };
}

function bind(sock: dgram.Socket, port: number, address?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    sock.once('error', onError);
    sock.bind(port, address, () => {
      sock.off('error', onError);
      resolve();
    });
  });
}

function setBuffers(sock: dgram.Socket, bytes: number): void {
  // The kernel caps these at net.core.{r,w}mem_max; a smaller buffer is not an error.
  try {
    sock.setRecvBufferSize(bytes);
    sock.setSendBufferSize(bytes);
  } catch {
    /* keep the default */
  }
}

function closeSocket(sock: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
