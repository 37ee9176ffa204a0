import { existsSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_IMAGES } from '../pixel-eval.ts';

/** The real Kodak image the codec tests use; tests skip with this message when the shared data is absent. */
export const KODIM01 = path.join(DEFAULT_IMAGES, 'kodim01.png');
export const HAVE_KODAK = existsSync(KODIM01);
if (!HAVE_KODAK) console.warn(`eval tests: ${KODIM01} not found, skipping the tests that need Kodak data`);
