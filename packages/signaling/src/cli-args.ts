import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_LIMITS, type SignalingLimits } from './limits.ts';
import { ID_PATTERN, type Role } from './messages.ts';
import { DEFAULT_TOKEN_TTL_MS, MIN_SECRET_BYTES } from './tokens.ts';

/** Command-line options → server options (pure; cli.ts does the I/O). */

export interface CliOptions {
  port: number;
  host: string;
  secretFile: string | null;
  printSecret: boolean;
  mint: Array<{ role: Role; sub: string }>;
  mintTtlMs: number;
  json: boolean;
  limits: Partial<SignalingLimits>;
}

export type CliCommand = { kind: 'help' } | { kind: 'run'; options: CliOptions };

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Limit flags: --max-message-bytes etc., one per limit. */
const LIMIT_FLAGS: ReadonlyArray<readonly [string, keyof SignalingLimits]> = [
  ['max-message-bytes', 'maxMessageBytes'],
  ['messages-per-second', 'messagesPerSecond'],
  ['message-burst', 'messageBurst'],
  ['max-sessions-per-worker', 'maxSessionsPerWorker'],
  ['auth-timeout-ms', 'authTimeoutMs'],
  ['idle-timeout-ms', 'idleTimeoutMs'],
  ['heartbeat-interval-ms', 'heartbeatIntervalMs'],
  ['heartbeat-timeout-ms', 'heartbeatTimeoutMs'],
  ['max-token-ttl-ms', 'maxTokenTtlMs'],
  ['max-connections', 'maxConnections'],
];

export const USAGE = `unimic-signaling: the UniMIC-RTC ws signaling server

usage: unimic-signaling [--port 8443] [--host 127.0.0.1] [--secret-file FILE] [options]

  --port N                    TCP port (0: ephemeral; the "listening" line tells which). Default 8443.
  --host H                    Interface. Default 127.0.0.1 (loopback only).
  --secret-file FILE          Token secret: the file's bytes exactly (at least 32). Without it a random
                              secret is made at start and never shown: tokens then come only from
                              --mint (printed at start) or from mintToken() of an in-process server.
  --print-secret              Also print the secret (base64url). Off by default.
  --mint ROLE:ID              Print a token for ROLE (edge|cloud) and ID (an edge token's ID is the
                              session it may open, a cloud token's the worker id). Repeatable.
  --mint-ttl-ms MS            Lifetime of --mint tokens. Default ${DEFAULT_TOKEN_TTL_MS}.
  --json                      One JSON object per event instead of readable lines.
  --help                      This text.

limits (all on; 0 is refused, there is no "unlimited"):
${LIMIT_FLAGS.map(([flag, key]) => `  --${flag} N`.padEnd(30) + `default ${DEFAULT_LIMITS[key]}`).join('\n')}

Logs go to stdout, one line per event: time, event, key=value ids. Secrets and tokens are never
logged (except --mint tokens and --print-secret, which are asked for).`;

function integer(flag: string, v: string, min: number): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`--${flag} needs a non-negative integer, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${flag} must be at least ${min}, got ${v}`);
  return n;
}

/** @throws UsageError for unknown flags and bad values. */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  const limitOptions = Object.fromEntries(LIMIT_FLAGS.map(([flag]) => [flag, { type: 'string' as const }]));
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'secret-file': { type: 'string' },
        'print-secret': { type: 'boolean' },
        mint: { type: 'string', multiple: true },
        'mint-ttl-ms': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        ...limitOptions,
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help === true) return { kind: 'help' };

  const str = (k: string): string | undefined => {
    const v = values[k];
    return typeof v === 'string' ? v : undefined;
  };
  const port = str('port') === undefined ? 8443 : integer('port', str('port') as string, 0);
  if (port > 65_535) throw new UsageError(`--port must be at most 65535, got ${port}`);

  const limits: Partial<Record<keyof SignalingLimits, number>> = {};
  for (const [flag, key] of LIMIT_FLAGS) {
    const v = str(flag);
    if (v !== undefined) limits[key] = integer(flag, v, 1);
  }

  const mint: Array<{ role: Role; sub: string }> = [];
  const mintSpecs = values.mint;
  for (const spec of Array.isArray(mintSpecs) ? mintSpecs : []) {
    const at = spec.indexOf(':');
    const role = spec.slice(0, at);
    const sub = spec.slice(at + 1);
    if (at < 0 || (role !== 'edge' && role !== 'cloud') || !ID_PATTERN.test(sub)) {
      throw new UsageError(`--mint wants edge:ID or cloud:ID with ID matching ${ID_PATTERN}, got ${JSON.stringify(spec)}`);
    }
    mint.push({ role, sub });
  }

  return {
    kind: 'run',
    options: {
      port,
      host: str('host') ?? '127.0.0.1',
      secretFile: str('secret-file') ?? null,
      printSecret: values['print-secret'] === true,
      mint,
      mintTtlMs: str('mint-ttl-ms') === undefined ? DEFAULT_TOKEN_TTL_MS : integer('mint-ttl-ms', str('mint-ttl-ms') as string, 1),
      json: values.json === true,
      limits,
    },
  };
}

/**
 * The secret in `file`: its bytes exactly (no trimming: a trailing newline is part of the secret,
 * so `head -c 32 /dev/urandom > f` and `openssl rand -hex 32 > f` both work as long as every minter
 * reads the file the same way).
 * @throws UsageError when the file cannot be read or holds fewer than 32 bytes.
 */
export function loadSecretFile(file: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (err) {
    throw new UsageError(`cannot read --secret-file: ${(err as Error).message}`);
  }
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new UsageError(`--secret-file holds ${bytes.length} bytes, at least ${MIN_SECRET_BYTES} are needed`);
  }
  return bytes;
}
