import type { LabTask, SessionConfig } from './sweep.ts';

/*
 * One session's record: a JSON line in records.jsonl, what every summary and plot is made from.
 * Field names are the runner's public format (docs/lab.md); add, do not rename.
 */

export interface DirectionCount {
  /** Datagrams and bytes that entered the relay in this direction (what the sender put on UDP). */
  readonly datagrams: number;
  readonly bytes: number;
  /** Of them, dropped by the link condition. */
  readonly dropped: number;
}

export interface SessionRecord {
  readonly index: number;
  readonly task: LabTask;
  readonly link: string;
  /** Loss in percent the condition stands for (the x axis). */
  readonly lossPercent: number;
  readonly mode: string;
  readonly seed: number;
  readonly rep: number;
  /** `ok`, or the typed error code the session ended with. */
  readonly outcome: string;
  readonly message?: string;
  readonly setupMs: number | null;
  readonly setupAttempts: number | null;
  readonly firstPreviewMs: number | null;
  readonly finalMs: number | null;
  /** Token chunk bytes (headers included), each way, as the edge counted them. */
  readonly tokenBytesUp: number | null;
  readonly tokenBytesDown: number | null;
  /** Everything on UDP during the session (setup, heartbeats, SACKs, retransmissions), per direction. */
  readonly udp: { readonly up: DirectionCount; readonly down: DirectionCount };
  /** Output cells: equal to the lossless reference run, lost (never arrived), concealed (filled by the masked model's guess: every lost cell is, so concealed = lost today). */
  readonly cells: { readonly total: number; readonly exact: number; readonly lost: number; readonly concealed: number } | null;
  /** Final image against the reference run's (same request), dB; null when identical or no image. */
  readonly psnrDb: number | null;
  readonly identical: boolean | null;
  /** VQA: the answer, and whether it equals the reference run's. */
  readonly answer?: string;
  readonly answerRight?: boolean;
  readonly upStagesUsed: number | null;
}

export function configFields(c: SessionConfig): Pick<SessionRecord, 'index' | 'task' | 'link' | 'lossPercent' | 'mode' | 'seed' | 'rep'> {
  return { index: c.index, task: c.task, link: c.link.name, lossPercent: c.link.nominalLossPercent, mode: c.mode.name, seed: c.seed, rep: c.rep };
}
