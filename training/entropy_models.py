"""Entropy models for the token grids: autoregressive (AR), masked-token and text-conditional.

All three share one backbone (pre-LN Transformer, d=256, 4 layers, 4 heads, ReLU MLP 4x, learned
row + column position embeddings, hand-written attention so that ONNX export at opset 17 works on
torch 1.13) and one output head. The backbone maps a token grid to one feature vector ``h`` per grid
position; ``h[i]`` is everything the model knows when it has to code position ``i``:

* ``ar``     input position i holds token i-1 (a BOS at position 0), causal attention: ``h[i]`` sees
             tokens ``< i`` in raster order.
* ``masked`` input = token id, or ``MASK`` (= codebook size, 8192) where the token is not known yet;
             bidirectional. For a stage s of a schedule, the tokens of stages ``< s`` are visible and
             one forward pass gives ``h`` for every position of stage s.
* ``text``   the masked model with a caption prefix (compact BPE ids, 0 = PAD, key-masked):
             bidirectional attention over ``[text; image]``, ``h`` returned for the image positions.

Token input embedding (``embed="digits"``, default): the sum of five per-digit embeddings of the FSQ
digits ``(d0..d4)`` of the token (levels 8,8,8,4,4), each table with one extra row for MASK/BOS, so a
token costs 37 x d parameters instead of 8193 x d and rare codes share statistics with their
neighbours. ``embed="full"`` uses a plain 8193 x d table.

Output heads
------------
``head="digits"`` (default): the token is coded as its five FSQ digits, each with its own small
table, conditioned on the digits before it (chain rule, so ``sum_k -log2 p(d_k | h, d_<k)`` is exactly
``-log2 p(token | h)``)::

    P = h W + b                      # [.., 5, m], one matmul, m = head_hidden (256)
    u_k = ReLU(P_k + Q_k[prefix_k])  # prefix_k = mixed-radix id of (d_0..d_{k-1}): 1, 8, 64, 512, 2048 rows
    logits_k = u_k V_k + c_k         # L_k = 8, 8, 8, 4, 4 logits

Given the true digits as a "teacher" input, one call returns all five digit distributions (the
encoder's case). The logits of digit k depend only on ``h`` and ``d_<k``, so a decoder calls the same
head five times per stage (batched over the stage's positions), filling in the digits as it decodes
them; the values it puts in the not-yet-decoded digits are ignored by construction.

``head="flat"``: one 8192-way linear softmax (the baseline the factorized head is compared with).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

NEG_INF = -1e9


@dataclass
class EntropyConfig:
    kind: str = "masked"                   # ar | masked | text
    levels: Tuple[int, ...] = (8, 8, 8, 4, 4)
    grid: int = 16                         # token grid side (rows = cols)
    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 1024
    embed: str = "digits"                  # digits | full
    head: str = "digits"                   # digits | flat
    head_hidden: int = 256
    text_vocab: int = 0                    # compact caption vocabulary (text model only)
    text_len: int = 32
    dropout: float = 0.0

    @property
    def vocab(self) -> int:
        return math.prod(self.levels)

    @property
    def mask_id(self) -> int:
        return self.vocab

    @property
    def seq_len(self) -> int:
        return self.grid * self.grid

    def to_dict(self) -> Dict:
        d = asdict(self)
        d["levels"] = list(self.levels)
        return d

    @staticmethod
    def from_dict(d: Dict) -> "EntropyConfig":
        d = dict(d)
        d["levels"] = tuple(d["levels"])
        return EntropyConfig(**d)


def digit_basis(levels) -> Tuple[int, ...]:
    basis, acc = [], 1
    for L in reversed(levels):
        basis.append(acc)
        acc *= L
    return tuple(reversed(basis))


def ids_to_digits(ids: torch.Tensor, levels) -> torch.Tensor:
    """ids [...] -> digits [..., 5] (first digit most significant)."""
    basis = digit_basis(levels)
    return torch.stack([torch.div(ids, b, rounding_mode="floor") % L for L, b in zip(levels, basis)], dim=-1)


class Attention(nn.Module):
    def __init__(self, d: int, h: int, dropout: float):
        super().__init__()
        self.h = h
        self.dh = d // h
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.drop = dropout

    def forward(self, x: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
        n, s, d = x.shape
        qkv = self.qkv(x).reshape(n, s, 3, self.h, self.dh).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                               # [n,h,s,dh]
        att = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.dh))
        if bias is not None:
            att = att + bias
        att = torch.softmax(att.float(), dim=-1).to(v.dtype)
        if self.drop and self.training:
            att = F.dropout(att, self.drop)
        y = torch.matmul(att, v).transpose(1, 2).reshape(n, s, d)
        return self.out(y)


class Block(nn.Module):
    def __init__(self, cfg: EntropyConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = Attention(cfg.d_model, cfg.n_heads, cfg.dropout)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.fc1 = nn.Linear(cfg.d_model, cfg.d_ff)
        self.fc2 = nn.Linear(cfg.d_ff, cfg.d_model)
        self.drop = cfg.dropout

    def forward(self, x, bias):
        x = x + self.attn(self.ln1(x), bias)
        h = self.fc2(F.relu(self.fc1(self.ln2(x))))
        if self.drop and self.training:
            h = F.dropout(h, self.drop)
        return x + h


class TokenEmbedding(nn.Module):
    """Token id in [0, V] (V = MASK/BOS) -> d-vector."""

    def __init__(self, cfg: EntropyConfig):
        super().__init__()
        self.kind = cfg.embed
        V, d = cfg.vocab, cfg.d_model
        if cfg.embed == "full":
            self.table = nn.Embedding(V + 1, d)
            nn.init.normal_(self.table.weight, std=0.02)
        elif cfg.embed == "digits":
            rows = [L + 1 for L in cfg.levels]                   # + a MASK/BOS row per digit
            offsets = [sum(rows[:i]) for i in range(len(rows))]
            self.table = nn.Embedding(sum(rows), d)
            nn.init.normal_(self.table.weight, std=0.02 / math.sqrt(len(rows)))
            # ids -> (row of d0, row of d1, ...) in the joint table; id V -> the MASK rows.
            ids = torch.arange(V)
            dig = ids_to_digits(ids, cfg.levels)
            special = torch.tensor([[L for L in cfg.levels]])
            lut = torch.cat([dig, special], 0) + torch.tensor(offsets)
            self.register_buffer("lut", lut.long(), persistent=False)
        else:
            raise ValueError(f"unknown embed {cfg.embed!r}")

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if self.kind == "full":
            return self.table(ids)
        return self.table(self.lut[ids]).sum(dim=-2)


class DigitHead(nn.Module):
    """Factorized output: five FSQ digits, each conditioned on h and the digits before it."""

    def __init__(self, cfg: EntropyConfig):
        super().__init__()
        self.levels = tuple(cfg.levels)
        self.K = len(self.levels)
        m = cfg.head_hidden
        self.m = m
        self.proj = nn.Linear(cfg.d_model, self.K * m)
        n_prefix = [math.prod(self.levels[:k]) for k in range(self.K)]   # 1, 8, 64, 512, 2048
        self.prefix_offsets = [sum(n_prefix[:k]) for k in range(self.K)]
        self.prefix = nn.Embedding(sum(n_prefix), m)
        nn.init.normal_(self.prefix.weight, std=0.02)
        self.lmax = max(self.levels)
        # per-digit output weights, padded to lmax (padding logits are sliced away)
        self.out_w = nn.Parameter(torch.randn(self.K, m, self.lmax) * (1.0 / math.sqrt(m)))
        self.out_b = nn.Parameter(torch.zeros(self.K, self.lmax))

    def prefix_ids(self, digits: torch.Tensor) -> torch.Tensor:
        """digits [..., K] -> rows of the prefix table [..., K]; row k only depends on digits < k."""
        cols = []
        acc = torch.zeros_like(digits[..., 0])
        for k in range(self.K):
            cols.append(acc + self.prefix_offsets[k])
            acc = acc * self.levels[k] + digits[..., k]
        return torch.stack(cols, dim=-1)

    def forward(self, h: torch.Tensor, digits: torch.Tensor):
        """h [..., d], digits [..., K] (long) -> list of K logits tensors [..., L_k] (float32)."""
        p = self.proj(h).reshape(*h.shape[:-1], self.K, self.m)
        u = F.relu(p + self.prefix(self.prefix_ids(digits)))
        # batched MatMul [..,K,1,m] x [K,m,lmax] (exports as one MatMul; no Einsum)
        logits = torch.matmul(u.unsqueeze(-2), self.out_w.to(u.dtype)).squeeze(-2) + self.out_b.to(u.dtype)
        logits = logits.float()
        return [logits[..., k, :L] for k, L in enumerate(self.levels)]

    def nll(self, h: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """-ln p(ids | h) per position (nats), [...]."""
        digits = ids_to_digits(ids, self.levels)
        out = 0
        for k, lg in enumerate(self.forward(h, digits)):
            out = out + F.cross_entropy(lg.reshape(-1, lg.shape[-1]), digits[..., k].reshape(-1),
                                        reduction="none").reshape(ids.shape)
        return out


class FlatHead(nn.Module):
    def __init__(self, cfg: EntropyConfig):
        super().__init__()
        self.lin = nn.Linear(cfg.d_model, cfg.vocab)
        nn.init.normal_(self.lin.weight, std=0.02)
        nn.init.zeros_(self.lin.bias)

    def forward(self, h):
        return self.lin(h).float()

    def nll(self, h, ids):
        lg = self.forward(h)
        return F.cross_entropy(lg.reshape(-1, lg.shape[-1]), ids.reshape(-1), reduction="none").reshape(ids.shape)


class EntropyModel(nn.Module):
    def __init__(self, cfg: EntropyConfig):
        super().__init__()
        if cfg.kind not in ("ar", "masked", "text"):
            raise ValueError(f"unknown kind {cfg.kind!r}")
        self.cfg = cfg
        d = cfg.d_model
        self.tok = TokenEmbedding(cfg)
        self.row = nn.Parameter(torch.randn(cfg.grid, d) * 0.02)
        self.col = nn.Parameter(torch.randn(cfg.grid, d) * 0.02)
        if cfg.kind == "text":
            if cfg.text_vocab < 2:
                raise ValueError("text model needs text_vocab")
            self.text_emb = nn.Embedding(cfg.text_vocab, d)
            nn.init.normal_(self.text_emb.weight, std=0.02)
            self.text_pos = nn.Parameter(torch.randn(cfg.text_len, d) * 0.02)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layers)])
        self.ln_f = nn.LayerNorm(d)
        self.head = DigitHead(cfg) if cfg.head == "digits" else FlatHead(cfg)
        if cfg.kind == "ar":
            S = cfg.seq_len
            causal = torch.full((S, S), NEG_INF).triu(1)
            self.register_buffer("causal", causal, persistent=False)

    def pos(self) -> torch.Tensor:
        return (self.row[:, None, :] + self.col[None, :, :]).reshape(-1, self.cfg.d_model)

    def features(self, tokens: torch.Tensor, text: Optional[torch.Tensor] = None) -> torch.Tensor:
        """tokens [N,S] long in [0,V] -> h [N,S,d] (image positions).

        ar: ``tokens`` is the true grid; the shift (BOS at 0) happens here. masked/text: tokens with
        MASK (= V) at unknown positions. text: ``text`` [N,T] compact ids, 0 = PAD (ignored as keys).
        """
        cfg = self.cfg
        n, S = tokens.shape
        bias = None
        if cfg.kind == "ar":
            bos = torch.full((n, 1), cfg.mask_id, dtype=tokens.dtype, device=tokens.device)
            tokens = torch.cat([bos, tokens[:, :-1]], dim=1)
            bias = self.causal[:S, :S]
        x = self.tok(tokens) + self.pos()[:S]
        if cfg.kind == "text":
            T = text.shape[1]
            t = self.text_emb(text) + self.text_pos[:T]
            x = torch.cat([t, x], dim=1)
            pad = (text == 0).to(x.dtype) * NEG_INF                      # [N,T]
            bias = torch.cat([pad, torch.zeros(n, S, dtype=x.dtype, device=x.device)], dim=1)[:, None, None, :]
        for blk in self.blocks:
            x = blk(x, bias)
        x = self.ln_f(x)
        if cfg.kind == "text":
            x = x[:, text.shape[1]:]
        return x

    def nll(self, h: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """-ln p(token) per position, nats, float32."""
        return self.head.nll(h, ids)


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# ----------------------------------------------------------------------------------- export wrappers

class BackboneExport(nn.Module):
    """tokens int32 [N,S] (+ text int32 [N,T]) -> h float32 [N,S,d]."""

    def __init__(self, model: EntropyModel):
        super().__init__()
        self.m = model

    def forward(self, tokens, text=None):
        return self.m.features(tokens.long(), None if text is None else text.long())


class DigitHeadExport(nn.Module):
    """h float32 [N,P,d], digits int32 [N,P,5] -> logits0..logits4 float32 [N,P,L_k]."""

    def __init__(self, model: EntropyModel):
        super().__init__()
        self.head = model.head

    def forward(self, h, digits):
        return tuple(self.head(h, digits.long()))


class FlatHeadExport(nn.Module):
    """h float32 [N,P,d] -> logits float32 [N,P,V]."""

    def __init__(self, model: EntropyModel):
        super().__init__()
        self.head = model.head

    def forward(self, h):
        return self.head(h)
