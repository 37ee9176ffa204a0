import type { SignalingEvent } from './events.ts';

function value(v: unknown): string {
  if (v === null || v === undefined) return '-';
  const s = String(v);
  return /^[\w.:@/+-]+$/.test(s) ? s : JSON.stringify(s);
}

/** `time event key=value ...`; values with spaces or quotes are JSON-quoted, null is `-`. */
export function formatLine(time: number, event: string, fields: Record<string, unknown>): string {
  return [new Date(time).toISOString(), event, ...Object.entries(fields).map(([k, v]) => `${k}=${value(v)}`)].join(' ');
}

/**
 * One readable line per event. Events never hold secrets or tokens, so neither do the lines.
 *
 *   2026-01-01T12:00:00.000Z session-opened session=s-42 worker=gpu-1
 */
export function formatEvent(e: SignalingEvent): string {
  const { time, event, ...rest } = e;
  return formatLine(time, event, rest);
}
