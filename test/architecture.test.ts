import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * The import rules of docs/architecture.md, checked: which of our packages each package may
 * depend on (in package.json and in what its src/ actually imports), and which runtimes stay out
 * of the pure ones. A new arrow in the house has to be drawn here and in the doc.
 */

const root = path.resolve(import.meta.dirname, '..');
const MAY_IMPORT: Record<string, readonly string[]> = {
  protocol: [],
  models: ['protocol'],
  session: ['protocol', 'models'],
  transport: [],
  signaling: ['transport'],
  'edge-peer': ['protocol', 'models', 'session', 'transport', 'signaling'],
  'cloud-peer': ['protocol', 'models', 'session', 'transport', 'signaling'],
  netlab: [],
};
/** Modules the pure packages never import (they run in the browser and in Node alike). */
const RUNTIMES = ['werift', 'ws', 'onnxruntime-node', 'onnxruntime-web'];
const PURE = ['protocol', 'session'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}
const importsOf = (file: string) => [...readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1] as string);

describe('the import rules of docs/architecture.md', () => {
  it('every package is in the table', () => {
    expect(readdirSync(path.join(root, 'packages')).sort()).toEqual(Object.keys(MAY_IMPORT).sort());
  });

  for (const [pkg, allowed] of Object.entries(MAY_IMPORT)) {
    it(`${pkg} depends on and imports only ${allowed.join(', ') || 'none of ours'}`, () => {
      const manifest = JSON.parse(readFileSync(path.join(root, 'packages', pkg, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
      const declared = Object.keys(manifest.dependencies ?? {}).filter((d) => d.startsWith('@unimic/')).map((d) => d.slice(8));
      expect(declared.filter((d) => !allowed.includes(d))).toEqual([]);
      const wrong: string[] = [];
      for (const file of sources(path.join(root, 'packages', pkg, 'src'))) {
        for (const spec of importsOf(file)) {
          const ours = /^@unimic\/([a-z-]+)/.exec(spec)?.[1];
          const where = path.relative(root, file);
          if (ours && ours !== pkg && !allowed.includes(ours)) wrong.push(`${where} → ${spec}`);
          if (ours && !declared.includes(ours) && ours !== pkg) wrong.push(`${where} → ${spec} (not in package.json)`);
          if (spec.startsWith('.') && !path.resolve(path.dirname(file), spec).startsWith(path.join(root, 'packages', pkg) + path.sep)) wrong.push(`${where} → ${spec} (outside the package)`);
          if (PURE.includes(pkg) && (RUNTIMES.includes(spec) || spec.startsWith('node:'))) {
            // the one exception: protocol's Node-only Brotli loader (brotli-node.ts), reached by dynamic import
            if (!(pkg === 'protocol' && spec === 'node:module' && file.endsWith('brotli-node.ts'))) wrong.push(`${where} → ${spec} (a runtime in a pure package)`);
          }
        }
      }
      expect(wrong).toEqual([]);
    });
  }
});
