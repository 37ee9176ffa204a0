#!/usr/bin/env tsx
/**
 * unimic-signaling: the ws signaling server as a process. `--help` for the options.
 * Logs one line per event on stdout; usage errors on stderr with exit code 2.
 */
import { loadSecretFile, parseCliArgs, UsageError, USAGE, type CliCommand } from './cli-args.ts';
import { formatEvent, formatLine } from './log.ts';
import { createSignalingServer, type SignalingEvent, type SignalingServer } from './server.ts';
import { generateSecret, mintToken } from './tokens.ts';

function fail(message: string, code = 2): never {
  process.stderr.write(`unimic-signaling: ${message}\n`);
  process.exit(code);
}

let command: CliCommand;
try {
  command = parseCliArgs(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError) fail(`${err.message}\n\n${USAGE}`);
  throw err;
}
if (command.kind === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const opts = command.options;

const line = (e: SignalingEvent) => process.stdout.write(`${opts.json ? JSON.stringify(e) : formatEvent(e)}\n`);
/** CLI-side lines in the same shape as event lines. */
const note = (event: string, fields: Record<string, string | number>) => {
  const time = Date.now();
  process.stdout.write(`${opts.json ? JSON.stringify({ time, event, ...fields }) : formatLine(time, event, fields)}\n`);
};

let secret: Uint8Array;
try {
  secret = opts.secretFile !== null ? loadSecretFile(opts.secretFile) : generateSecret();
} catch (err) {
  fail((err as Error).message);
}

let server: SignalingServer;
try {
  server = await createSignalingServer({ port: opts.port, host: opts.host, secret, limits: opts.limits, onEvent: line });
} catch (err) {
  fail((err as Error).message, err instanceof RangeError ? 2 : 1);
}

if (opts.secretFile !== null) {
  note('secret', { source: 'file', path: opts.secretFile, shown: opts.printSecret ? 'yes' : 'no' });
} else {
  // Random, in this process only: the tokens it accepts are the ones --mint prints below.
  note('secret', {
    source: 'generated',
    shown: opts.printSecret ? 'yes' : 'no',
    tokens: opts.mint.length > 0 ? '--mint' : 'none: start with --mint ROLE:ID or --secret-file FILE',
  });
}
if (opts.printSecret) note('secret-value', { base64url: Buffer.from(secret).toString('base64url') });
for (const claims of opts.mint) {
  note('token', { role: claims.role, id: claims.sub, ttl_ms: opts.mintTtlMs, token: mintToken(secret, claims, opts.mintTtlMs) });
}
note('limits', Object.fromEntries(Object.entries(server.limits)));

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  note('stopping', { signal });
  const s = server;
  void s.close().then(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
