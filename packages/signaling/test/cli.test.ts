/**
 * The CLI: argument parsing, and the server as its own process (tsx), reached over loopback by
 * clients in this process, with its log lines checked (readable, no secrets).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSecretFile, parseCliArgs, UsageError, USAGE } from '../src/cli-args.ts';
import { SigCode } from '../src/errors.ts';
import { DEFAULT_LIMITS } from '../src/limits.ts';
import { connectSignaling } from '../src/node.ts';
import { mintToken } from '../src/tokens.ts';

const root = path.resolve(import.meta.dirname, '../../..');
const cli = path.join('packages', 'signaling', 'src', 'cli.ts');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

interface Proc {
  child: ChildProcess;
  lines: string[];
  stderr: () => string;
  waitFor(pred: (l: string) => boolean, ms?: number): Promise<string>;
  exited: Promise<number | null>;
}

function run(args: string[]): Proc {
  // One node process with tsx as a loader (what `npx tsx cli.ts` runs, minus the wrapper process),
  // so signals reach the server itself.
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: string[] = [];
  let err = '';
  child.stderr?.on('data', (d) => (err += String(d)));
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => lines.push(l));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const waitFor = async (pred: (l: string) => boolean, ms = 20_000) => {
    const end = Date.now() + ms;
    for (;;) {
      const hit = lines.find(pred);
      if (hit !== undefined) return hit;
      if (Date.now() > end || child.exitCode !== null) {
        throw new Error(`no matching line (exit ${child.exitCode}); stdout:\n${lines.join('\n')}\nstderr:\n${err}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { child, lines, stderr: () => err, waitFor, exited };
}

const portOf = (listening: string) => Number(/ port=(\d+)/.exec(listening)?.[1]);

describe('parseCliArgs', () => {
  it('defaults: port 8443 on 127.0.0.1, generated secret, no limit overrides', () => {
    expect(parseCliArgs([])).toEqual({
      kind: 'run',
      options: { port: 8443, host: '127.0.0.1', secretFile: null, printSecret: false, mint: [], mintTtlMs: 60_000, json: false, limits: {} },
    });
    expect(parseCliArgs(['--help'])).toEqual({ kind: 'help' });
  });

  it('limit flags, --mint and the rest', () => {
    const c = parseCliArgs([
      '--port', '0', '--host', '::1', '--secret-file', 'f', '--print-secret', '--json',
      '--max-sessions-per-worker', '3', '--heartbeat-interval-ms', '200', '--heartbeat-timeout-ms', '700',
      '--max-message-bytes', '4096', '--messages-per-second', '5', '--message-burst', '9', '--auth-timeout-ms', '100',
      '--idle-timeout-ms', '1000', '--max-token-ttl-ms', '5000', '--max-connections', '7',
      '--mint', 'edge:s1', '--mint', 'cloud:gpu-1', '--mint-ttl-ms', '1234',
    ]);
    expect(c).toEqual({
      kind: 'run',
      options: {
        port: 0,
        host: '::1',
        secretFile: 'f',
        printSecret: true,
        json: true,
        mint: [{ role: 'edge', sub: 's1' }, { role: 'cloud', sub: 'gpu-1' }],
        mintTtlMs: 1234,
        limits: {
          maxSessionsPerWorker: 3, heartbeatIntervalMs: 200, heartbeatTimeoutMs: 700, maxMessageBytes: 4096,
          messagesPerSecond: 5, messageBurst: 9, authTimeoutMs: 100, idleTimeoutMs: 1000, maxTokenTtlMs: 5000, maxConnections: 7,
        },
      },
    });
  });

  it('the usage text lists every limit with its default', () => {
    for (const [k, v] of Object.entries(DEFAULT_LIMITS)) {
      const flag = `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      expect(USAGE).toMatch(new RegExp(`${flag} N +default ${v}\\b`));
    }
  });

  it('loadSecretFile takes the bytes exactly, and refuses short or missing files', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'unimic-sig-'));
    const good = path.join(dir, 'good');
    const bytes = Buffer.concat([randomBytes(32), Buffer.from('\n')]);
    writeFileSync(good, bytes);
    expect(Buffer.from(loadSecretFile(good))).toEqual(bytes);
    const short = path.join(dir, 'short');
    writeFileSync(short, 'too short');
    expect(() => loadSecretFile(short)).toThrow(/at least 32 are needed/);
    expect(() => loadSecretFile(path.join(dir, 'missing'))).toThrow(UsageError);
  });

  it('refuses unknown flags, bad numbers, 0 for limits and bad --mint specs', () => {
    for (const bad of [
      ['--nope'],
      ['--port', 'x'],
      ['--port', '70000'],
      ['--port', '-1'],
      ['--max-sessions-per-worker', '0'],
      ['--message-burst', '1.5'],
      ['--mint', 'admin:x'],
      ['--mint', 'edge'],
      ['--mint', 'edge:has space'],
      ['positional'],
    ]) {
      expect(() => parseCliArgs(bad), bad.join(' ')).toThrow(UsageError);
    }
  });
});

describe.concurrent('unimic-signaling as a separate process', () => {
  it('serves sessions with a secret file; logs are one readable line per event with no secret or token', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'unimic-sig-'));
    const secret = randomBytes(32);
    const file = path.join(dir, 'secret');
    writeFileSync(file, secret);
    const p = run(['--port', '0', '--secret-file', file, '--max-sessions-per-worker', '1']);
    const listening = await p.waitFor((l) => l.includes(' listening '));
    expect(listening).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z listening host=127\.0\.0\.1 port=\d+$/);
    const url = `ws://127.0.0.1:${portOf(listening)}`;
    await p.waitFor((l) => l.includes(' secret source=file '));

    const cloudToken = mintToken(secret, { role: 'cloud', sub: 'w1' });
    const edgeToken = mintToken(secret, { role: 'edge', sub: 's1' });
    const cloud = await connectSignaling(url, cloudToken);
    await cloud.registerWorker();
    const edge = await connectSignaling(url, edgeToken);
    expect(await edge.openSession()).toBe('s1');
    const relayed = new Promise((resolve) => cloud.messages$.subscribe((m) => m.type === 'signal' && resolve(m.data)));
    edge.signal('s1', { kind: 'sdp', description: { type: 'offer', sdp: 'v=0' } });
    expect(await relayed).toEqual({ kind: 'sdp', description: { type: 'offer', sdp: 'v=0' } });
    await expect(connectSignaling(url, mintToken(randomBytes(32), { role: 'edge', sub: 'x' }))).rejects.toMatchObject({ code: SigCode.AuthInvalid });
    await expect(connectSignaling(url, edgeToken)).rejects.toMatchObject({ code: SigCode.AuthReplayed });

    edge.close();
    await p.waitFor((l) => / session-closed session=s1 worker=w1 cause=edge-disconnected$/.test(l));
    await p.waitFor((l) => / refused code=SIG_AUTH_INVALID close=4401 conn=c\d+ role=- id=- message="token signature does not match"$/.test(l));
    await p.waitFor((l) => / refused code=SIG_AUTH_REPLAYED close=4401 conn=c\d+ role=- id=- /.test(l));
    expect(p.lines.some((l) => / session-opened session=s1 worker=w1$/.test(l))).toBe(true);
    expect(p.lines.some((l) => / authenticated conn=c\d+ role=cloud id=w1$/.test(l))).toBe(true);
    cloud.close();

    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    const out = p.lines.join('\n');
    expect(out).toMatch(/ stopping signal=SIGTERM/);
    expect(out).toMatch(/ closed$/m);
    for (const leak of [secret.toString('base64url'), secret.toString('base64'), secret.toString('hex'), cloudToken, edgeToken, cloudToken.split('.')[1] as string]) {
      expect(out).not.toContain(leak);
    }
    expect(out).not.toMatch(/secret-value/);
  }, 40_000);

  it('without a secret file: a generated secret, tokens handed out with --mint, the secret shown only with --print-secret', async () => {
    const p = run(['--port', '0', '--mint', 'cloud:w1', '--mint', 'edge:s1', '--mint-ttl-ms', '30000', '--print-secret']);
    const url = `ws://127.0.0.1:${portOf(await p.waitFor((l) => l.includes(' listening ')))}`;
    await p.waitFor((l) => l.includes(' secret source=generated '));
    const tokenOf = async (role: string, id: string) =>
      (/ token=(\S+)$/.exec(await p.waitFor((l) => l.includes(` token role=${role} id=${id} ttl_ms=30000 `)))?.[1]) as string;
    const cloud = await connectSignaling(url, await tokenOf('cloud', 'w1'));
    await cloud.registerWorker();
    const edge = await connectSignaling(url, await tokenOf('edge', 's1'));
    expect(await edge.openSession()).toBe('s1');
    // The printed secret is the real one.
    const shown = /base64url=(\S+)$/.exec(await p.waitFor((l) => l.includes(' secret-value ')))?.[1] as string;
    const other = await connectSignaling(url, mintToken(Buffer.from(shown, 'base64url'), { role: 'edge', sub: 's2' }));
    expect(other.id).toBe('s2');
    for (const c of [edge, cloud, other]) c.close();
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  }, 40_000);

  it('a usage error exits 2 with the reason and the usage on stderr', async () => {
    const p = run(['--max-sessions-per-worker', '0']);
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toContain('--max-sessions-per-worker must be at least 1');
    expect(p.stderr()).toContain('usage: unimic-signaling');
    expect(p.lines).toEqual([]);
  }, 40_000);
});
