"""Exact Python port of the protocol's progressive schedules (packages/protocol/src/schedule/).

``build_schedule(kind, width, height, stages, seed)`` returns the same stages (lists of raster
positions ``y * width + x``, in send order) as the TypeScript ``buildSchedule`` does, bit for bit:
the same 32-bit hash (``mix32`` / ``hashWords``), the same splitmix32 PRNG and Fisher-Yates shuffle,
the same integer arithmetic, and the same deterministic cosine (range reduction by fdlibm's two-part
pi/2 and the same Horner-evaluated Taylor polynomials; Python floats are IEEE binary64 and ``+ - * /``
are correctly rounded, exactly as in JavaScript). ``test_schedules.py`` compares this module with the
TypeScript output through ``npx tsx``.

Training uses these orders so that the entropy models see exactly the contexts the protocol sends.
Kinds: ``cosine`` (MaskGIT cosine stage sizes over a seeded spread / ordered-dither order),
``coarse-to-fine`` (stride-halving lattices, shuffled within a stage) and ``raster``.
Note: on a 16x16 grid coarse-to-fine allows at most 5 stages (``max_stages``).
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import List, Sequence, Tuple

import numpy as np

SCHEDULE_KINDS = ("cosine", "coarse-to-fine", "raster")
MAX_GRID_SIDE = 128
MAX_STAGES = 64

TAG_COSINE = 0x636F7331  # 'cos1'
TAG_COARSE = 0x63326631  # 'c2f1'
_M32 = 0xFFFFFFFF
_GOLDEN = 0x9E3779B9

HALF_PI = math.pi / 2


# ----------------------------------------------------------------------------------------- hash.ts

def mix32(x: int) -> int:
    h = x & _M32
    h ^= h >> 16
    h = (h * 0x7FEB352D) & _M32
    h ^= h >> 15
    h = (h * 0x846CA68B) & _M32
    h ^= h >> 16
    return h


def hash_words(words: Sequence[int]) -> int:
    h = 0x243F6A88
    for w in words:
        h = mix32(((h ^ (w & _M32)) + _GOLDEN) & _M32)
    return h


class Rng:
    """splitmix32-style generator (createRng): Weyl sequence through mix32."""

    def __init__(self, seed: int):
        self.state = seed & _M32

    def __call__(self) -> int:
        self.state = (self.state + _GOLDEN) & _M32
        return mix32(self.state)


def shuffle_in_place(values: List[int], rng: Rng) -> None:
    for i in range(len(values) - 1, 0, -1):
        j = (rng() * (i + 1)) >> 32  # floor(r * (i+1) / 2^32), exact
        values[i], values[j] = values[j], values[i]


# ------------------------------------------------------------------------------------------ cos.ts

PIO2_HI = 1.5707963267341256
PIO2_LO = 6.077100506506192e-11
TWO_OVER_PI = 0.6366197723675814
MAX_ACCURATE_ARG = 1e6

C2 = -1 / 2
C4 = 1 / 24
C6 = -1 / 720
C8 = 1 / 40320
C10 = -1 / 3628800
C12 = 1 / 479001600
C14 = -1 / 87178291200
C16 = 1 / 20922789888000
C18 = -1 / 6402373705728000
S3 = -1 / 6
S5 = 1 / 120
S7 = -1 / 5040
S9 = 1 / 362880
S11 = -1 / 39916800
S13 = 1 / 6227020800
S15 = -1 / 1307674368000
S17 = 1 / 355687428096000


def _cos_kernel(r: float) -> float:
    z = r * r
    return 1 + z * (C2 + z * (C4 + z * (C6 + z * (C8 + z * (C10 + z * (C12 + z * (C14 + z * (C16 + z * C18))))))))


def _sin_kernel(r: float) -> float:
    z = r * r
    return r + r * z * (S3 + z * (S5 + z * (S7 + z * (S9 + z * (S11 + z * (S13 + z * (S15 + z * S17)))))))


def _js_round(x: float) -> int:
    """ECMAScript Math.round: nearest integer, ties towards +infinity (x - floor(x) is exact)."""
    f = math.floor(x)
    return f + 1 if x - f >= 0.5 else f


def deterministic_cos(x: float) -> float:
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"deterministic_cos needs a finite number, got {x}")
    if abs(x) > MAX_ACCURATE_ARG:
        raise ValueError(f"deterministic_cos argument {x} is outside |x| <= {MAX_ACCURATE_ARG}")
    k = _js_round(x * TWO_OVER_PI)
    r = x - k * PIO2_HI - k * PIO2_LO
    quadrant = k % 4  # Python's % is already non-negative
    if quadrant == 0:
        return _cos_kernel(r)
    if quadrant == 1:
        return -_sin_kernel(r)
    if quadrant == 2:
        return -_cos_kernel(r)
    return _sin_kernel(r)


# ------------------------------------------------------------------------------------- schedule.ts

def _check_side(v: int, what: str) -> int:
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or not 1 <= v <= MAX_GRID_SIDE:
        raise ValueError(f"{what} must be an integer in 1..{MAX_GRID_SIDE}, got {v!r}")
    return int(v)


def _check_seed(seed: int) -> int:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= seed <= _M32:
        raise ValueError(f"seed must be a uint32, got {seed!r}")
    return int(seed)


def _floor_log2(n: int) -> int:
    bits = 0
    while n >> (bits + 1) != 0:
        bits += 1
    return bits


def _ceil_log2(n: int) -> int:
    bits = 0
    while (1 << bits) < n:
        bits += 1
    return bits


def max_stages(kind: str, width: int, height: int) -> int:
    if kind not in SCHEDULE_KINDS:
        raise ValueError(f"unknown schedule kind {kind!r}")
    w = _check_side(width, "width")
    h = _check_side(height, "height")
    if kind == "coarse-to-fine":
        side = max(w, h)
        return 1 if side == 1 else min(MAX_STAGES, _floor_log2(side - 1) + 2)
    return min(MAX_STAGES, w * h)


def cosine_revealed(cells: int, stages: int) -> List[int]:
    if not 1 <= cells <= MAX_GRID_SIDE * MAX_GRID_SIDE:
        raise ValueError(f"cells must be in 1..{MAX_GRID_SIDE * MAX_GRID_SIDE}, got {cells}")
    if not 1 <= stages <= min(MAX_STAGES, cells):
        raise ValueError(f"stages must be in 1..{min(MAX_STAGES, cells)}, got {stages}")
    out = [0] * (stages + 1)
    prev = 0
    for s in range(1, stages + 1):
        raw = cells if s == stages else cells - math.floor(cells * deterministic_cos((HALF_PI * s) / stages))
        at_least = max(raw, prev + 1)
        value = min(at_least, cells - (stages - s))
        out[s] = value
        prev = value
    return out


def _quadrant_ranks(seed: int, level: int, nx: int, ny: int) -> int:
    r = hash_words([TAG_COSINE, seed, level, nx, ny])
    perm = [0, 1, 2, 3]
    for i in range(3, 0, -1):
        j = r % (i + 1)
        r = (r - j) // (i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return perm[0] | (perm[1] << 2) | (perm[2] << 4) | (perm[3] << 6)


def spread_order(width: int, height: int, seed: int) -> List[int]:
    w = _check_side(width, "width")
    h = _check_side(height, "height")
    _check_seed(seed)
    levels = _ceil_log2(max(w, h))
    side = 1 << levels
    slots = [-1] * (side * side)
    cache = {}
    for y in range(h):
        for x in range(w):
            key = 0
            for level in range(levels):
                q = (((y >> level) & 1) << 1) | ((x >> level) & 1)
                nx = x >> (level + 1)
                ny = y >> (level + 1)
                node = (level, nx, ny)
                ranks = cache.get(node)
                if ranks is None:
                    ranks = _quadrant_ranks(seed, level, nx, ny)
                    cache[node] = ranks
                rank = (ranks >> (2 * q)) & 3
                key += rank * (1 << (2 * (levels - 1 - level)))
            slots[key] = y * w + x
    return [p for p in slots if p >= 0]


def _build_cosine(w: int, h: int, stages: int, seed: int) -> List[List[int]]:
    order = spread_order(w, h, seed)
    revealed = cosine_revealed(w * h, stages)
    return [order[revealed[s]:revealed[s + 1]] for s in range(stages)]


def _trailing_zeros(n: int) -> int:
    tz = 0
    while ((n >> tz) & 1) == 0:
        tz += 1
    return tz


def _build_coarse_to_fine(w: int, h: int, stages: int, seed: int) -> List[List[int]]:
    out: List[List[int]] = [[] for _ in range(stages)]
    for y in range(h):
        for x in range(w):
            bits = x | y
            tz = stages if bits == 0 else _trailing_zeros(bits)
            stage = 0 if tz >= stages - 1 else stages - 1 - tz
            out[stage].append(y * w + x)
    for stage, arr in enumerate(out):
        shuffle_in_place(arr, Rng(hash_words([TAG_COARSE, seed, stage])))
    return out


def _build_raster(w: int, h: int, stages: int) -> List[List[int]]:
    n = w * h
    return [list(range((s * n) // stages, ((s + 1) * n) // stages)) for s in range(stages)]


def build_schedule(kind: str, width: int, height: int, stages: int, seed: int) -> List[List[int]]:
    """Stages of raster positions in send order, identical to the protocol's ``buildSchedule``."""
    if kind not in SCHEDULE_KINDS:
        raise ValueError(f"unknown schedule kind {kind!r}; expected one of {', '.join(SCHEDULE_KINDS)}")
    w = _check_side(width, "width")
    h = _check_side(height, "height")
    seed = _check_seed(seed)
    limit = max_stages(kind, w, h)
    if not isinstance(stages, (int, np.integer)) or not 1 <= stages <= limit:
        raise ValueError(f"stages must be an integer in 1..{limit} for {kind} {w}x{h}, got {stages!r}")
    stages = int(stages)
    if kind == "cosine":
        return _build_cosine(w, h, stages, seed)
    if kind == "coarse-to-fine":
        return _build_coarse_to_fine(w, h, stages, seed)
    return _build_raster(w, h, stages)


# ------------------------------------------------------------------------------ training helpers

@lru_cache(maxsize=65536)
def _stage_map_cached(kind: str, width: int, height: int, stages: int, seed: int) -> bytes:
    sched = build_schedule(kind, width, height, stages, seed)
    out = np.zeros(width * height, dtype=np.uint8)
    for s, positions in enumerate(sched):
        out[positions] = s
    return out.tobytes()


def stage_map(kind: str, width: int, height: int, stages: int, seed: int) -> np.ndarray:
    """uint8 [height*width]: the stage index of every raster position (protocol ``stageOf``).

    Coarse-to-fine stage *sets* do not depend on the seed (it only shuffles within a stage), so the
    cache key drops it there.
    """
    if kind != "cosine":
        seed = 0
    return np.frombuffer(_stage_map_cached(kind, width, height, stages, seed), dtype=np.uint8)


def stage_sizes(kind: str, width: int, height: int, stages: int) -> Tuple[int, ...]:
    m = stage_map(kind, width, height, stages, 0)
    return tuple(int(v) for v in np.bincount(m, minlength=stages))
