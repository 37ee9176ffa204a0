/*
 * ICE candidate and SDP filters for loopback-only links, shared by WeriftPeer and BrowserPeer.
 * Pure string functions: the browser entry may import them.
 */

/** True for an IPv4 loopback address (127.0.0.0/8). */
export function isLoopbackAddress(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ... */
function candidateFields(candidate: string): string[] | null {
  const fields = candidate.trim().replace(/^a=/, '').split(/\s+/);
  return fields.length >= 8 ? fields : null;
}

/** The connection address of an ICE candidate line (`candidate:...` or `a=candidate:...`). */
export function candidateAddress(candidate: string): string | null {
  return candidateFields(candidate)?.[4] ?? null;
}

/** True for a candidate on 127.x, whatever its transport. */
export function isLoopbackCandidate(candidate: string): boolean {
  const addr = candidateAddress(candidate);
  return addr !== null && isLoopbackAddress(addr);
}

/**
 * True for a UDP candidate on 127.x (`candidate:...` or `a=candidate:...`). Chromium also offers
 * TCP candidates; werift speaks UDP only.
 */
export function isLoopbackUdpCandidate(candidate: string): boolean {
  const f = candidateFields(candidate);
  return f !== null && (f[2] ?? '').toLowerCase() === 'udp' && isLoopbackAddress(f[4] ?? '');
}

/** Keeps the `a=candidate` lines of an SDP that `keep` accepts (and every other line). */
function filterCandidateLines(sdp: string, keep: (line: string) => boolean): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  return sdp
    .split(/\r?\n/)
    .filter((line) => !line.startsWith('a=candidate:') || keep(line))
    .join(eol);
}

/** Removes every `a=candidate` line whose address is not IPv4 loopback. */
export function stripNonLoopbackCandidates(sdp: string): string {
  return filterCandidateLines(sdp, isLoopbackCandidate);
}

/** Keeps only the loopback UDP `a=candidate` lines of an SDP. */
export function keepLoopbackCandidates(sdp: string): string {
  return filterCandidateLines(sdp, isLoopbackUdpCandidate);
}
