#!/usr/bin/env -S npx tsx
/**
 * unimic-signaling — the ws signaling server as a process.
 *
 *   unimic-signaling --port 8443 [--host 127.0.0.1] [--secret-file FILE] [--max-sessions-per-worker N]
 *                    [--heartbeat-ms MS] [--mint ROLE:ID ...]
 *
 * Without --secret-file the server makes a random secret: only tokens minted by this process
 * (--mint, printed once at start) are accepted, which is what the embedded demo uses.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createSignalingServer, type SignalingEvent } from './server.ts';
import type { Role } from './tokens.ts';
import { randomBytes } from 'node:crypto';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8443' },
    host: { type: 'string', default: '127.0.0.1' },
    'secret-file': { type: 'string' },
    'max-sessions-per-worker': { type: 'string' },
    'heartbeat-ms': { type: 'string' },
    mint: { type: 'string', multiple: true },
    'token-ttl-ms': { type: 'string', default: '300000' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(`unimic-signaling --port N [--host H] [--secret-file F] [--max-sessions-per-worker N] [--heartbeat-ms MS] [--mint edge:ID|cloud:ID ...] [--token-ttl-ms MS]`);
  process.exit(0);
}

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer, got ${v}`);
    process.exit(2);
  }
  return n;
}

const secret = values['secret-file'] ? readFileSync(values['secret-file']) : randomBytes(32);
if (secret.length < 16) {
  console.error('the secret must be at least 16 bytes');
  process.exit(2);
}
const log = (e: SignalingEvent) => {
  const { event, ...rest } = e;
  const kv = Object.entries(rest).map(([k, v]) => `${k}=${v}`).join(' ');
  console.log(`${new Date().toISOString()} ${event}${kv ? ` ${kv}` : ''}`);
};

const limits: Record<string, number> = {};
const perWorker = int('max-sessions-per-worker', values['max-sessions-per-worker']);
if (perWorker) limits.sessionsPerWorker = perWorker;
const heartbeat = int('heartbeat-ms', values['heartbeat-ms']);
if (heartbeat) limits.heartbeatMs = heartbeat;

const server = await createSignalingServer({ port: int('port', values.port) ?? 8443, host: values.host, secret, limits, log });
const ttl = int('token-ttl-ms', values['token-ttl-ms']) ?? 300_000;
for (const spec of values.mint ?? []) {
  const [role, id] = spec.split(':');
  if ((role !== 'edge' && role !== 'cloud') || !id) {
    console.error(`--mint wants edge:ID or cloud:ID, got ${spec}`);
    process.exit(2);
  }
  console.log(`${new Date().toISOString()} token role=${role} id=${id} token=${server.mintToken(role as Role, id, ttl)}`);
}
const stop = async () => {
  await server.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
