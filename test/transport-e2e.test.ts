/**
 * Signaling server, cloud peer and edge peer as three separate processes on loopback, with auth
 * enforced: the edge gets a worker, both channels open over werift, messages echo both ways, and
 * when the cloud process dies the edge reports the loss within 2 s.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mintToken } from '@unimic/signaling';
import { processes } from './fixtures/processes.ts';

const root = path.resolve(import.meta.dirname, '..');
const { start, killAll } = processes(root);

afterAll(killAll);

describe('three processes on loopback', () => {
  it('signaling + cloud + edge: auth, channels, echo both ways, loss seen within 2 s', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'unimic-e2e-'));
    const secret = randomBytes(32);
    writeFileSync(path.join(dir, 'secret'), secret);
    const sig = start('packages/signaling/src/cli.ts', ['--port', '0', '--secret-file', path.join(dir, 'secret')], {});
    const listening = await sig.waitFor((l) => l.includes(' listening '));
    const port = /port=(\d+)/.exec(listening)?.[1];
    const url = `ws://127.0.0.1:${port}`;

    const cloud = start('test/fixtures/cloud-process.ts', [], { SIGNALING_URL: url, TOKEN: mintToken(secret, { role: 'cloud', sub: 'worker-a' }) });
    await cloud.event('registered');
    const edge = start('test/fixtures/edge-process.ts', [], { SIGNALING_URL: url, TOKEN: mintToken(secret, { role: 'edge', sub: 'edge-a' }) });
    const open = await edge.event('open');
    expect(open.setupMs).toBeLessThan(10_000);
    await cloud.event('open');
    expect(await edge.event('echoed')).toMatchObject({ channel: 'control', count: 50, ok: true });
    expect(await edge.event('echoed')).toMatchObject({ channel: 'tokens', count: 50, ok: true });
    await edge.event('waiting-for-loss');

    const killedAt = Date.now();
    cloud.child.kill('SIGKILL'); // a crash, not a goodbye
    const lost = await edge.event('peer-lost', 5000);
    expect(lost.state).toBe('failed');
    expect((lost.at as number) - killedAt).toBeLessThan(2000);
    // The signaling server saw it too and logged the session's end.
    await sig.waitFor((l) => l.includes('session-closed'), 5000);
  }, 60_000);

  it('an edge with a token signed by another secret is refused by the server process', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'unimic-e2e-'));
    writeFileSync(path.join(dir, 'secret'), randomBytes(32));
    const sig = start('packages/signaling/src/cli.ts', ['--port', '0', '--secret-file', path.join(dir, 'secret')], {});
    const port = /port=(\d+)/.exec(await sig.waitFor((l) => l.includes(' listening ')))?.[1];
    const edge = start('test/fixtures/edge-process.ts', [], { SIGNALING_URL: `ws://127.0.0.1:${port}`, TOKEN: mintToken(randomBytes(32), { role: 'edge', sub: 'forger' }) });
    const code = await new Promise<number | null>((resolve) => edge.child.once('exit', resolve));
    expect(code).not.toBe(0);
    await sig.waitFor((l) => l.includes('refused code=SIG_AUTH_INVALID'), 5000);
  }, 30_000);
});
