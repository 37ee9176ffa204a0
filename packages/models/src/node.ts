import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { PackReader } from './load.ts';

/** A PackReader over a pack folder on disk. Names are plain file names (the manifest checks). */
export function folderReader(dir: string): PackReader {
  return async (name) => new Uint8Array(await readFile(path.join(dir, path.basename(name))));
}
