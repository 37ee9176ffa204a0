import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Every hunk of patches/werift+*.patch carries this marker in a comment, so the running werift can
 * be checked for the patch (tests report it; the bench labels its numbers).
 */
export const WERIFT_PATCH_MARKER = 'unimic-patch';

export interface WeriftPatchStatus {
  /** The ESM bundle (what `import 'werift'` loads) carries the patch. */
  esm: boolean;
  /** The CommonJS build (what `require('werift')` loads) carries the patch. */
  cjs: boolean;
}

export function weriftPatchStatus(): WeriftPatchStatus {
  const require = createRequire(import.meta.url);
  const main = require.resolve('werift'); // .../werift/lib/webrtc/src/index.js
  const lib = join(dirname(main), '..', '..');
  const has = (file: string) => readFileSync(join(lib, file), 'utf8').includes(WERIFT_PATCH_MARKER);
  return { esm: has('index.mjs'), cjs: has(join('sctp', 'src', 'sctp.js')) && has(join('webrtc', 'src', 'transport', 'sctp.js')) };
}
