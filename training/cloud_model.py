"""The cloud model: one small Transformer over [prompt text; image tokens; answer text].

Sequence layout (fixed lengths, ``T = 32`` prompt ids, ``256`` image tokens, ``A = 8`` answer ids)::

    positions  0 .. T-1        prompt: a caption (text-to-image, inpainting, outpainting; all PAD = no text)
                                       or a question (VQA); compact ids of cloud_vocab.json, PAD = 0 after the text
    positions  T .. T+255      image: token ids 0..8191, MASK = 8192 where unknown (raster order, 16x16)
    positions  T+256 .. +A-1   answer: ANS (3), then the answer ids generated so far, PAD after

Attention (a fixed block mask plus key padding of the prompt):

* prompt rows: causal within the prompt (text is causal), nothing else;
* image rows: the non-PAD prompt ids and every image position (bidirectional), never the answer;
* answer rows: the non-PAD prompt ids, every image position and the answer causally.

So image outputs do not depend on the answer slot (a graph without it gives identical image
outputs), and answer position j sees the answer inputs 0..j only.

Outputs: ``h`` [N,256,d] for the image positions (after the final LayerNorm) -> image head
``Linear(d, 8192)`` = logits over the full codebook (flat head: MaskGIT sampling needs the full
distribution and the confidence of the sampled token; training computes it only at masked positions);
answer logits [N,A,Vt] = answer features x the (tied) text embedding table: row j predicts answer
token j given ANS and answer tokens 0..j-1 (greedy/temperature decoding until EOS = 2).

Token input embedding: the sum of per-FSQ-digit embeddings (``entropy_models.TokenEmbedding``,
``embed="digits"``), with MASK as its own row per digit; row + column position embeddings for the
image, learned position tables for prompt and answer. Blocks: ``entropy_models.Block`` (pre-LN,
hand-written attention, ReLU MLP) so that the ONNX export at opset 17 works on torch 1.13.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from entropy_models import NEG_INF, Block, TokenEmbedding

PAD, UNK, EOS, ANS = 0, 1, 2, 3


@dataclass
class CloudConfig:
    levels: Tuple[int, ...] = (8, 8, 8, 4, 4)
    grid: int = 16
    d_model: int = 256
    n_layers: int = 6
    n_heads: int = 4
    d_ff: int = 1024
    text_vocab: int = 0
    text_len: int = 32
    answer_len: int = 8
    embed: str = "digits"
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
    def from_dict(d: Dict) -> "CloudConfig":
        d = dict(d)
        d["levels"] = tuple(d["levels"])
        return CloudConfig(**d)


def block_mask(T: int, S: int, A: int) -> torch.Tensor:
    """float [T+S+A, T+S+A]: 0 where attention is allowed, NEG_INF elsewhere (before prompt padding)."""
    L = T + S + A
    allow = torch.zeros(L, L, dtype=torch.bool)
    allow[:T, :T] = torch.ones(T, T, dtype=torch.bool).tril()
    allow[T:T + S, :T + S] = True
    allow[T + S:, :T + S] = True
    allow[T + S:, T + S:] = torch.ones(A, A, dtype=torch.bool).tril()
    return torch.where(allow, torch.zeros(()), torch.full((), NEG_INF))


class CloudModel(nn.Module):
    def __init__(self, cfg: CloudConfig):
        super().__init__()
        if cfg.text_vocab < 5:
            raise ValueError("CloudConfig.text_vocab must be set (cloud_vocab.json size)")
        self.cfg = cfg
        d = cfg.d_model
        self.tok = TokenEmbedding(cfg)
        self.row = nn.Parameter(torch.randn(cfg.grid, d) * 0.02)
        self.col = nn.Parameter(torch.randn(cfg.grid, d) * 0.02)
        self.text_emb = nn.Embedding(cfg.text_vocab, d)
        nn.init.normal_(self.text_emb.weight, std=0.02)
        self.text_pos = nn.Parameter(torch.randn(cfg.text_len, d) * 0.02)
        self.ans_pos = nn.Parameter(torch.randn(cfg.answer_len, d) * 0.02)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layers)])
        self.ln_f = nn.LayerNorm(d)
        self.img_head = nn.Linear(d, cfg.vocab)
        nn.init.normal_(self.img_head.weight, std=0.02)
        nn.init.zeros_(self.img_head.bias)
        self.ans_bias = nn.Parameter(torch.zeros(cfg.text_vocab))
        self.register_buffer("mask_full", block_mask(cfg.text_len, cfg.seq_len, cfg.answer_len), persistent=False)

    def pos(self) -> torch.Tensor:
        return (self.row[:, None, :] + self.col[None, :, :]).reshape(-1, self.cfg.d_model)

    def features(self, text: torch.Tensor, tokens: torch.Tensor,
                 answer: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """text [N,T] long, tokens [N,256] long (MASK = 8192), answer [N,A] long or None.

        Returns (h_image [N,256,d], h_answer [N,A,d] or None), after the final LayerNorm."""
        cfg = self.cfg
        n, T = text.shape
        S = tokens.shape[1]
        parts = [self.text_emb(text) + self.text_pos[:T], self.tok(tokens) + self.pos()[:S]]
        A = 0
        if answer is not None:
            A = answer.shape[1]
            parts.append(self.text_emb(answer) + self.ans_pos[:A])
        x = torch.cat(parts, dim=1)
        L = T + S + A
        static = self.mask_full[:L, :L]
        # prompt padding hides PAD keys from the image and answer rows (prompt rows stay causal only, so a
        # row never has all keys masked, even with an empty prompt)
        keypad = torch.cat([(text == PAD).to(x.dtype) * NEG_INF,
                            torch.zeros(n, S + A, dtype=x.dtype, device=x.device)], dim=1)      # [N,L]
        rowsel = torch.cat([torch.zeros(T, dtype=x.dtype, device=x.device),
                            torch.ones(S + A, dtype=x.dtype, device=x.device)])                 # [L]
        bias = (static[None] + rowsel[None, :, None] * keypad[:, None, :])[:, None]            # [N,1,L,L]
        for blk in self.blocks:
            x = blk(x, bias)
        x = self.ln_f(x)
        h_img = x[:, T:T + S]
        h_ans = x[:, T + S:] if answer is not None else None
        return h_img, h_ans

    def image_logits(self, h: torch.Tensor) -> torch.Tensor:
        return self.img_head(h).float()

    def answer_logits(self, h_ans: torch.Tensor) -> torch.Tensor:
        return (torch.matmul(h_ans, self.text_emb.weight.to(h_ans.dtype).t()) + self.ans_bias.to(h_ans.dtype)).float()


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# ------------------------------------------------------------------------------------- reference loops

def cosine_mask_ratio(t: float) -> float:
    """Share of the target region still masked after step t/steps: cos(pi/2 * t)."""
    return math.cos(math.pi / 2 * t)


@torch.no_grad()
def maskgit_generate(model: CloudModel, text: np.ndarray, tokens: np.ndarray, steps: int = 8,
                     temperature: float = 1.0, seed: int = 0):
    """Reference MaskGIT loop (the TypeScript generator follows the same rules; float details differ).

    text int [T] compact ids; tokens int [256] with MASK (8192) at the positions to generate. Step
    k = 0..steps-1: one forward pass; for every still-masked position sample a token from
    softmax(logits / temperature) (argmax when temperature == 0) with Gumbel noise from a seeded
    generator; confidence = log p(sampled token). The number of positions left masked after step k is
    floor(M * cos(pi/2 * (k+1)/steps)) (M = masked at the start; 0 after the last step); the most
    confident sampled positions are committed, the rest are re-masked. Yields (positions, ids) per step.
    """
    cfg = model.cfg
    g = torch.Generator().manual_seed(seed)
    tok = torch.as_tensor(np.asarray(tokens, dtype=np.int64))[None].clone()
    txt = torch.as_tensor(np.asarray(text, dtype=np.int64))[None]
    M = int((tok == cfg.mask_id).sum())
    for k in range(steps):
        masked = (tok[0] == cfg.mask_id).nonzero().squeeze(1)
        if len(masked) == 0:
            break
        h, _ = model.features(txt, tok)
        logits = model.image_logits(h[0, masked])
        logp = torch.log_softmax(logits, -1)
        if temperature > 0:
            gumbel = -torch.log(-torch.log(torch.rand(logits.shape, generator=g).clamp(1e-9, 1 - 1e-9)))
            sample = (logits / temperature + gumbel).argmax(-1)
        else:
            sample = logits.argmax(-1)
        conf = logp.gather(1, sample[:, None]).squeeze(1)
        keep_masked = int(math.floor(M * cosine_mask_ratio((k + 1) / steps))) if k < steps - 1 else 0
        n_commit = max(1, len(masked) - keep_masked)
        order = torch.argsort(conf, descending=True)[:n_commit]
        pos = masked[order]
        tok[0, pos] = sample[order]
        yield pos.numpy(), sample[order].numpy()


@torch.no_grad()
def answer_greedy(model: CloudModel, text: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Greedy answers for a batch: [N,A] compact ids (EOS then PAD after the answer)."""
    cfg = model.cfg
    n = text.shape[0]
    A = cfg.answer_len
    ans_in = torch.full((n, A), PAD, dtype=torch.long)
    ans_in[:, 0] = ANS
    out = torch.full((n, A), PAD, dtype=torch.long)
    done = torch.zeros(n, dtype=torch.bool)
    for j in range(A):
        _, ha = model.features(text, tokens, ans_in)
        nxt = model.answer_logits(ha[:, j]).argmax(-1)
        nxt = torch.where(done, torch.full_like(nxt, PAD), nxt)
        out[:, j] = nxt
        done |= nxt == EOS
        if j + 1 < A:
            ans_in[:, j + 1] = nxt
        if bool(done.all()):
            break
    return out
