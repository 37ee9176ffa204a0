#!/usr/bin/env python3
"""Check that ``schedules.py`` reproduces the protocol's TypeScript schedules exactly.

    /usr/bin/python3 training/test_schedules.py            # exits 1 on any mismatch

Runs ``npx tsx`` (from the repository root, which must have node_modules) on a small script that
imports ``packages/protocol/src/schedule`` and prints, as JSON, ``buildSchedule`` for a set of
(kind, width, height, stages, seed) cases, ``cosineRevealed`` for many (cells, stages) and the bit
patterns of ``deterministicCos`` at many arguments; then compares every value with the Python port.
"""
from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from schedules import (build_schedule, cosine_revealed, deterministic_cos, hash_words, max_stages,  # noqa: E402
                       mix32)

REPO = Path(__file__).resolve().parent.parent

CASES = []
for kind in ("cosine", "coarse-to-fine", "raster"):
    for (w, h) in ((16, 16), (8, 8), (32, 32), (13, 7), (1, 1), (128, 3), (5, 17)):
        lim = max_stages(kind, w, h)
        for stages in sorted({1, 2, 3, 4, 5, 8, 16, lim}):
            if stages > lim:
                continue
            for seed in (0, 1, 7, 12345, 0xDEADBEEF, 0xFFFFFFFF):
                CASES.append((kind, w, h, stages, seed))

COS_ARGS = [i * 0.001 for i in range(0, 1700)] + [(3.141592653589793 / 2 * s) / S
                                                   for S in range(1, 65) for s in range(0, S + 1)]
COS_ARGS += [-1.0, -3.0, 2.0, 3.0, 4.5, 10.0, 123.456, -999.5, 1e5, 7.85398163397]
REVEALED = [(c, s) for c in (1, 2, 3, 16, 64, 100, 256, 1000, 1024, 16384) for s in (1, 2, 3, 4, 5, 7, 8, 16, 33, 64)
            if s <= min(64, c)]
HASHES = [[0], [1, 2, 3], [0x636F7331, 0xFFFFFFFF, 3, 5, 6], [0xDEADBEEF] * 7]
MIX = [0, 1, 2, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 123456789]

TS = r"""
import { buildSchedule, cosineRevealed } from './packages/protocol/src/schedule/schedule.ts';
import { deterministicCos } from './packages/protocol/src/schedule/cos.ts';
import { hashWords, mix32 } from './packages/protocol/src/schedule/hash.ts';
import { readFileSync } from 'node:fs';
const inp = JSON.parse(readFileSync(0, 'utf8'));
const bits = (x) => { const b = Buffer.alloc(8); b.writeDoubleBE(x); return b.toString('hex'); };
const out = {
  schedules: inp.cases.map(([kind, width, height, stages, seed]) =>
    buildSchedule({ kind, width, height, stages, seed }).stages.map((a) => Array.from(a))),
  cos: inp.cos.map((x) => bits(deterministicCos(x))),
  revealed: inp.revealed.map(([c, s]) => Array.from(cosineRevealed(c, s))),
  hashes: inp.hashes.map((w) => hashWords(w)),
  mix: inp.mix.map((x) => mix32(x)),
};
process.stdout.write(JSON.stringify(out));
"""


def f64_hex(x: float) -> str:
    return struct.pack(">d", x).hex()


def main() -> int:
    payload = json.dumps({"cases": CASES, "cos": COS_ARGS, "revealed": REVEALED, "hashes": HASHES, "mix": MIX})
    proc = subprocess.run(["npx", "--no-install", "tsx", "-e", TS], cwd=REPO, input=payload, capture_output=True,
                          text=True, timeout=300)
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        print("npx tsx failed (needs node_modules in the repository root)", file=sys.stderr)
        return 2
    ts = json.loads(proc.stdout)
    bad = 0
    for case, ts_stages in zip(CASES, ts["schedules"]):
        py = build_schedule(*case)
        if py != ts_stages:
            bad += 1
            if bad <= 5:
                print(f"schedule mismatch {case}: py {py[:2]}... ts {ts_stages[:2]}...")
    n_cos_bad = sum(f64_hex(deterministic_cos(x)) != t for x, t in zip(COS_ARGS, ts["cos"]))
    n_rev_bad = sum(cosine_revealed(c, s) != t for (c, s), t in zip(REVEALED, ts["revealed"]))
    n_hash_bad = sum(hash_words(w) != t for w, t in zip(HASHES, ts["hashes"]))
    n_mix_bad = sum(mix32(x) != t for x, t in zip(MIX, ts["mix"]))
    print(f"schedules: {len(CASES) - bad}/{len(CASES)} identical; deterministicCos: "
          f"{len(COS_ARGS) - n_cos_bad}/{len(COS_ARGS)} bit-identical; cosineRevealed: "
          f"{len(REVEALED) - n_rev_bad}/{len(REVEALED)}; hashWords {len(HASHES) - n_hash_bad}/{len(HASHES)}; "
          f"mix32 {len(MIX) - n_mix_bad}/{len(MIX)}")
    ok = bad == 0 and n_cos_bad == 0 and n_rev_bad == 0 and n_hash_bad == 0 and n_mix_bad == 0
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
