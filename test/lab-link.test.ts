import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { createLab, readUdpCounters, removeStale, requireRoot, setRandomDrop, type Lab } from '@unimic/netlab';
import { mintToken } from '@unimic/signaling';

/*
 * A real link: signaling and a cloud worker in one network namespace, the `unimic` CLI's edge in
 * another, joined by a veth pair (no loopback shortcut: ICE gathers on the veth addresses).
 * Inpainting with no loss and with 10% nftables random loss on UDP each way.
 */

const root = path.resolve(import.meta.dirname, '..');
const notRoot = requireRoot();
const PREFIX = 'umlabe';
let lab: Lab | undefined;

afterAll(async () => {
  await lab?.teardown();
});

function waitForLine(child: ReturnType<Lab['spawn']>, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms`)), timeoutMs);
    const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    rl.on('line', (line) => {
      if (!pattern.test(line)) return;
      clearTimeout(timer);
      rl.close();
      resolve(line);
    });
  });
}

describe.skipIf(notRoot !== null)(`an edge in another network namespace${notRoot ? ` (skipped: ${notRoot})` : ''}`, () => {
  it('runs inpainting through the CLI against the remote stack, without and with 10% loss each way', async () => {
    await removeStale(PREFIX);
    lab = await createLab({ prefix: PREFIX, addressA: '10.213.9.1', addressB: '10.213.9.2' });
    const secret = randomBytes(24).toString('hex');
    const dir = mkdtempSync(path.join(tmpdir(), 'umlab-'));
    writeFileSync(path.join(dir, 'secret'), secret);
    const tsx = ['--import', 'tsx'];
    const signaling = lab.spawn(lab.a.ns, process.execPath, [...tsx, path.join(root, 'packages/signaling/src/cli.ts'), '--host', lab.a.address, '--port', '8443', '--secret-file', path.join(dir, 'secret')], { cwd: root });
    signaling.stderr?.resume();
    await waitForLine(signaling, /listening/, 20_000).catch(async () => {
      // the server logs to stdout or stderr; give it a moment either way
      await new Promise((r) => setTimeout(r, 2_000));
    });
    const worker = lab.spawn(lab.a.ns, process.execPath, [...tsx, path.join(root, 'examples/cloud-worker.ts')], {
      cwd: root,
      env: { ...process.env, SIGNALING_URL: `ws://${lab.a.address}:8443`, SIGNALING_SECRET: secret, UNIMIC_ICE_HOST: lab.a.address, AFTER_STAGES: '4' },
    });
    worker.stderr?.resume();
    await waitForLine(worker, /"registered"/, 60_000);

    const runEdge = async () => {
      const token = mintToken(secret, { role: 'edge', sub: `edge-${Math.floor(Math.random() * 1e9)}` });
      const { stdout } = await lab!.exec(lab!.b.ns, process.execPath, [...tsx, path.join(root, 'examples/unimic.ts'), 'run', 'inpaint', '--image', path.join(root, 'examples/samples/kodim04.png'), '--signaling', `ws://${lab!.a.address}:8443`, '--token', token, '--ice-host', lab!.b.address, '--out', path.join(dir, 'out')], { timeoutMs: 90_000 });
      return stdout;
    };
    const clean = await runEdge();
    expect(clean).toMatch(/inpaint: \d+ B up, \d+ B down; first result \d+ ms, final \d+ ms/);

    await setRandomDrop(lab.a.ns, 'out', 10);
    await setRandomDrop(lab.b.ns, 'out', 10);
    // one run, no retry here: the CLI's setup retries a wedged handshake itself (and says so)
    const lossy = await runEdge();
    expect(lossy).toMatch(/inpaint: \d+ B up, \d+ B down; first result \d+ ms, final \d+ ms; setup \d+ ms in [1-3] attempts?/);
    const counters = await readUdpCounters(lab.b.ns);
    expect(counters.out.seen.packets).toBeGreaterThan(counters.out.passed.packets);
  }, 300_000);
});
