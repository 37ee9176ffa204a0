"""Token-grid data and bits/token evaluation shared by train_entropy.py and eval_entropy.py.

Bits are the ideal code length ``sum -log2 p(true token)`` under the model, averaged over tokens;
the range coder adds ~0.02% on top (RESEARCH.md §2), and frequency-table quantization a little more.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from common import autocast_ctx
from schedules import stage_map

LN2 = math.log(2.0)
GRID = 16
COSINE_STAGES = (1, 2, 4, 8, 16)
C2F_STAGES = (2, 3, 4, 5)            # coarse-to-fine allows at most 5 stages on a 16x16 grid


class TokenSets:
    """The cached grids of ``tokens.py`` (``RUNS/tokens``), loaded lazily."""

    def __init__(self, folder: Path):
        self.dir = Path(folder)
        if not (self.dir / "meta.json").exists():
            raise SystemExit(f"no token cache in {self.dir}: run `run.py tokens` first")
        self.meta = json.loads((self.dir / "meta.json").read_text())
        self._cache: Dict[str, np.ndarray] = {}

    def has(self, name: str) -> bool:
        return (self.dir / f"{name}.npy").exists()

    def get(self, name: str) -> np.ndarray:
        if name not in self._cache:
            self._cache[name] = np.load(self.dir / f"{name}.npy")
        return self._cache[name]

    def grids(self, name: str) -> np.ndarray:
        """int64 [N, 256]."""
        return self.get(name).reshape(len(self.get(name)), -1).astype(np.int64)

    def caption_vocab(self) -> Dict:
        return json.loads((self.dir / "caption_vocab.json").read_text())

    def train_pool(self, sets: Sequence[str]) -> np.ndarray:
        parts = [self.grids(s) for s in sets if self.has(s)]
        if not parts:
            raise SystemExit(f"none of {list(sets)} in {self.dir}")
        return np.concatenate(parts)


def static_bits(train_grids: np.ndarray, eval_grids: np.ndarray, vocab: int = 8192) -> float:
    """Unigram histogram of the training tokens with add-one smoothing: mean bits on eval_grids."""
    counts = np.bincount(train_grids.reshape(-1), minlength=vocab).astype(np.float64) + 1.0
    logp = np.log2(counts / counts.sum())
    return float(-logp[eval_grids.reshape(-1)].mean())


def schedule_masks(kind: str, stages: int, seeds: Sequence[int]) -> np.ndarray:
    """uint8 [len(seeds), 256]: stage index per position, one schedule per seed."""
    return np.stack([stage_map(kind, GRID, GRID, stages, int(s) & 0xFFFFFFFF) for s in seeds])


def _to_t(x: np.ndarray, device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x)).to(device)


@torch.no_grad()
def nll_positions(model, inp: np.ndarray, target: np.ndarray, text: Optional[np.ndarray], device, bf16: bool):
    """-log2 p(target) at every position, float64 numpy [N,256]."""
    tok = _to_t(inp, device)
    tgt = _to_t(target, device)
    txt = None if text is None else _to_t(text.astype(np.int64), device)
    with autocast_ctx(device, bf16):
        h = model.features(tok, txt)
        nll = model.nll(h, tgt)
    return (nll.double() / LN2).cpu().numpy()


@torch.no_grad()
def bits_ar(model, grids: np.ndarray, device, bf16: bool = True, batch: int = 64) -> Dict:
    tot = np.zeros(grids.shape[1])
    for i in range(0, len(grids), batch):
        g = grids[i:i + batch]
        tot += nll_positions(model, g, g, None, device, bf16).sum(0)
    n = len(grids) * grids.shape[1]
    return {"bits_per_token": float(tot.sum() / n), "n_tokens": int(n),
            "bits_by_row": [float(v) for v in tot.reshape(GRID, GRID).sum(1) / (len(grids) * GRID)]}


@torch.no_grad()
def bits_masked(model, grids: np.ndarray, kind: str, stages: int, device, bf16: bool = True, batch: int = 64,
                seed0: int = 0, text: Optional[np.ndarray] = None) -> Dict:
    """Code every grid progressively: stage s is predicted from stages < s (one forward per stage).

    Grid i uses the schedule seed ``seed0 + i`` (cosine orders differ per seed; coarse-to-fine stage
    sets do not depend on it). ``text`` [N,T] compact caption ids for the text model.
    """
    mask_id = model.cfg.mask_id
    stage_bits = np.zeros(stages)
    stage_n = np.zeros(stages)
    for i in range(0, len(grids), batch):
        g = grids[i:i + batch]
        t = None if text is None else text[i:i + batch]
        m = schedule_masks(kind, stages, range(seed0 + i, seed0 + i + len(g)))
        for s in range(stages):
            inp = np.where(m < s, g, mask_id)
            nll = nll_positions(model, inp, g, t, device, bf16)
            sel = m == s
            stage_bits[s] += nll[sel].sum()
            stage_n[s] += sel.sum()
    n = stage_n.sum()
    return {"bits_per_token": float(stage_bits.sum() / n), "n_tokens": int(n),
            "bits_per_token_by_stage": [float(b / max(1, c)) for b, c in zip(stage_bits, stage_n)],
            "tokens_by_stage": [int(c) for c in stage_n]}


class MaskedBatcher:
    """Training samples for the masked / text models on the protocol's schedules.

    Per sample: kind (cosine w.p. ``p_cosine``, else coarse-to-fine), stage count from
    COSINE_STAGES / C2F_STAGES, a uniform uint32 seed, and a stage s drawn with probability
    proportional to its size (equivalently: a uniformly random position's stage), so that the
    per-sample mean loss over stage s is an unbiased estimate of the per-token bits of coding the
    whole grid with that schedule. Input: tokens of stages < s, MASK elsewhere; target positions:
    stage s (``loss_on="stage"``) or every masked position (``loss_on="masked"``).
    """

    def __init__(self, mask_id: int, p_cosine: float = 0.5, cosine_stages=COSINE_STAGES, c2f_stages=C2F_STAGES,
                 loss_on: str = "stage"):
        self.mask_id = mask_id
        self.p_cosine = p_cosine
        self.cosine_stages = tuple(cosine_stages)
        self.c2f_stages = tuple(c2f_stages)
        self.loss_on = loss_on

    def __call__(self, grids: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        B = len(grids)
        inp = np.empty_like(grids)
        target = np.zeros(grids.shape, dtype=bool)
        for b in range(B):
            if rng.random() < self.p_cosine:
                kind, S = "cosine", int(rng.choice(self.cosine_stages))
            else:
                kind, S = "coarse-to-fine", int(rng.choice(self.c2f_stages))
            m = stage_map(kind, GRID, GRID, S, int(rng.integers(0, 2 ** 32)))
            s = int(m[int(rng.integers(m.size))])          # P(s) = |stage s| / 256
            inp[b] = np.where(m < s, grids[b], self.mask_id)
            target[b] = (m == s) if self.loss_on == "stage" else (m >= s)
        return inp, target
