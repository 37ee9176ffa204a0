import { ErrorCode, ProtocolError } from '@unimic/protocol';
import { parseManifest, type PackManifest, type PackRole } from './manifest.ts';

/** Reads one file of a pack by its plain name (Node: from a folder; browser: by fetch). */
export type PackReader = (name: string) => Promise<Uint8Array>;

export interface LoadedPack {
  readonly manifest: PackManifest;
  /** SHA-256 of the manifest bytes: the pack identity peers compare in their `open` messages. */
  readonly digest: string;
  /** Verified file bytes (models and assets) by role (only the roles asked for). */
  readonly files: ReadonlyMap<PackRole, Uint8Array>;
}

/** Manifests are small; a larger one is not a manifest. */
const MAX_MANIFEST_BYTES = 1 << 20;

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  // A copy: WebCrypto wants an ArrayBuffer-backed view (not a SharedArrayBuffer one).
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new Uint8Array(bytes));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Reads and validates `manifest.json`, then the model files of `roles` (default: all), checking
 * each file's size and SHA-256 against the manifest before anyone builds a session from it.
 * Throws ProtocolError: ERR_OVERSIZED / ERR_MALFORMED for a bad manifest, ERR_INVALID_FIELD for a
 * manifest that breaks the contract, ERR_CHECKSUM for a file whose bytes are not the ones listed.
 */
export async function loadPack(read: PackReader, roles?: readonly PackRole[]): Promise<LoadedPack> {
  const raw = await read('manifest.json');
  if (raw.length > MAX_MANIFEST_BYTES) throw new ProtocolError(ErrorCode.Oversized, `manifest.json is ${raw.length} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (err) {
    throw new ProtocolError(ErrorCode.Malformed, `manifest.json is not UTF-8 JSON: ${(err as Error).message}`);
  }
  const manifest = parseManifest(json);
  const listed = [...manifest.models, ...manifest.assets];
  const wanted = roles ?? listed.map((m) => m.role);
  const files = new Map<PackRole, Uint8Array>();
  for (const role of wanted) {
    const entry = listed.find((m) => m.role === role);
    if (!entry) throw new ProtocolError(ErrorCode.InvalidField, `pack ${manifest.id} has no ${role} file`);
    const bytes = await read(entry.file);
    if (bytes.length !== entry.bytes) {
      throw new ProtocolError(ErrorCode.ChecksumMismatch, `${entry.file}: ${bytes.length} bytes, manifest says ${entry.bytes}`);
    }
    const hash = await sha256Hex(bytes);
    if (hash !== entry.sha256) {
      throw new ProtocolError(ErrorCode.ChecksumMismatch, `${entry.file}: sha256 ${hash}, manifest says ${entry.sha256}`);
    }
    files.set(role, bytes);
  }
  return { manifest, digest: await sha256Hex(raw), files };
}
