"""Train the cloud model (stage ``cloud``): text-conditional masked image-token prediction + VQA answers.

    /usr/bin/python3 training/run.py cloud [--steps N] [--batch 32] [--threads 2] [--max-minutes M] ...

Model: ``cloud_model.py``. Data: ``RUNS/scenes`` (``run.py scenes``) and ``RUNS/tokens``
(``run.py tokens``). Every batch mixes four kinds of samples (fractions ``--mix``, default
``t2i=0.40,real=0.05,photo=0.15,vqa=0.40``):

* ``t2i``   a training scene's grid with one of its 3 captions as prompt (the prompt is dropped, all PAD,
            with p = ``--text-dropout``, so the model also works unconditionally);
* ``real``  a real captioned photo's grid (``captions_train``) with one of its 5 captions;
* ``photo`` a photo crop (``photos_train``) with no prompt (unconditional inpainting/outpainting);
* ``vqa``   a training scene's grid with one of its 8 questions as prompt; the answer slot holds
            ``[ANS, a_0, .., a_k]`` (teacher forcing) and the targets ``[a_0, .., a_k, EOS]``. The image is
            complete with p = 1 - ``--vqa-partial``, else a uniform random share in [0, 0.6] of its tokens
            is masked (VQA from partial input).

Image samples (t2i/real/photo) are masked MaskGIT-style: a ratio r = cos(pi/2 * u), u ~ U(0,1), of the
target region is replaced by MASK (at least one token); the target region is the whole grid (p = 0.6),
a random box of 3-12 x 3-12 tokens (inpainting, p = 0.2) or a strip of 1-8 rows/columns at one of the four
sides (outpainting, p = 0.2), everything outside it visible. Loss: cross-entropy over the 8192 codes at
the masked positions (mean per sample, then over the image samples) + ``--text-weight`` x the answer
cross-entropy (mean over answer targets). With ``--object-weight`` w > 1, a text-to-image sample's cells
that an object covers weigh w times the others in its mean: objects are ~9% of a scene's cells, and the
caption is what places and colours them, so the plain mean spends the model's effort on the background.

Validation (every ``--eval-every`` steps, on ``scenes_val``): masked-token loss and top-1 accuracy at a
fixed 50% random mask with caption 0 and without a prompt (the gap is what the caption tells the model),
and greedy VQA exact-match accuracy on one question per scene (the question index cycles through 0..7);
and, the text-to-image question itself, the loss on object cells of a fully masked grid with the scene's
caption and with another scene's caption (the difference is what the caption tells about the objects).

Run directory ``RUNS/cloud`` (``--run-dir``): ``ckpt.pt`` (atomic, resumable: run the same command again),
``best.pt`` (best validation VQA accuracy + image loss score), ``model.pt`` (final), ``train.log``,
``train_summary.json``. bf16 autocast on CPU; data order depends only on (seed, step).
"""
from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
from pathlib import Path
from typing import Dict

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cloud_model import ANS, PAD, CloudConfig, CloudModel, answer_greedy, count_params  # noqa: E402
from scenes import QUESTION_TYPES  # noqa: E402
from common import (Logger, Progress, autocast_ctx, default_run_dir, env_info, fmt_duration,  # noqa: E402
                    load_checkpoint, pick_device, save_checkpoint, seed_all, setup_threads, step_rng, write_json)

GRID = 16
KINDS = ("t2i", "real", "photo", "vqa")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run.py cloud", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("data / run")
    g.add_argument("--scenes-dir", type=Path, default=None, help="default RUNS/scenes")
    g.add_argument("--tokens-dir", type=Path, default=None, help="default RUNS/tokens")
    g.add_argument("--run-dir", type=Path, default=None, help="default RUNS/cloud")
    g.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--threads", type=int, default=2)
    g.add_argument("--device", default="auto")
    g.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True)
    g.add_argument("--max-minutes", type=float, default=0.0)
    o = p.add_argument_group("optimisation")
    o.add_argument("--steps", type=int, default=6000)
    o.add_argument("--batch", type=int, default=32)
    o.add_argument("--lr", type=float, default=8e-4)
    o.add_argument("--min-lr-ratio", type=float, default=0.05)
    o.add_argument("--warmup", type=int, default=200)
    o.add_argument("--wd", type=float, default=0.05)
    o.add_argument("--clip", type=float, default=1.0)
    o.add_argument("--mix", default="t2i=0.40,real=0.05,photo=0.15,vqa=0.40")
    o.add_argument("--text-dropout", type=float, default=0.1)
    o.add_argument("--vqa-partial", type=float, default=0.3)
    o.add_argument("--text-weight", type=float, default=1.0)
    o.add_argument("--object-weight", type=float, default=1.0,
                   help="weight of object cells in a text-to-image sample's image loss (1 = plain mean)")
    r = p.add_argument_group("reporting")
    r.add_argument("--log-every", type=int, default=25)
    r.add_argument("--eval-every", type=int, default=500)
    r.add_argument("--val-n", type=int, default=256, help="validation scenes")
    r.add_argument("--ckpt-minutes", type=float, default=5.0)
    m = p.add_argument_group("model (ignored when resuming)")
    d = CloudConfig()
    m.add_argument("--d-model", type=int, default=d.d_model)
    m.add_argument("--layers", type=int, default=d.n_layers)
    m.add_argument("--heads", type=int, default=d.n_heads)
    m.add_argument("--d-ff", type=int, default=d.d_ff)
    m.add_argument("--dropout", type=float, default=0.0)
    return p


def lr_at(step: int, args) -> float:
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    floor = args.lr * args.min_lr_ratio
    return floor + (args.lr - floor) * 0.5 * (1 + math.cos(math.pi * t))


def parse_mix(s: str) -> Dict[str, float]:
    mix = {k: 0.0 for k in KINDS}
    for kv in s.split(","):
        k, v = kv.split("=")
        if k not in mix:
            raise SystemExit(f"--mix: unknown kind {k!r} (kinds: {KINDS})")
        mix[k] = float(v)
    tot = sum(mix.values())
    return {k: v / tot for k, v in mix.items()}


def region_mask(rng: np.random.Generator) -> np.ndarray:
    """bool [16,16]: the region to (partly) generate: whole grid, a box or a side strip."""
    u = rng.random()
    m = np.zeros((GRID, GRID), bool)
    if u < 0.6:
        m[:] = True
    elif u < 0.8:
        h, w = int(rng.integers(3, 13)), int(rng.integers(3, 13))
        t, l = int(rng.integers(0, GRID - h + 1)), int(rng.integers(0, GRID - w + 1))
        m[t:t + h, l:l + w] = True
    else:
        k = int(rng.integers(1, 9))
        side = int(rng.integers(4))
        if side == 0:
            m[:, :k] = True
        elif side == 1:
            m[:, GRID - k:] = True
        elif side == 2:
            m[:k, :] = True
        else:
            m[GRID - k:, :] = True
    return m.reshape(-1)


def maskgit_mask(rng: np.random.Generator) -> np.ndarray:
    region = np.flatnonzero(region_mask(rng))
    r = math.cos(math.pi / 2 * rng.random())
    n = max(1, int(math.ceil(r * len(region))))
    out = np.zeros(GRID * GRID, bool)
    out[rng.choice(region, size=n, replace=False)] = True
    return out


def object_cells(scenes, margin: float = 3.0) -> np.ndarray:
    """bool [N, 256]: the cells whose centre lies within an object's radius (+ margin px) of its centre."""
    px = 128 // GRID
    c = np.arange(GRID) * px + px / 2
    yy, xx = np.meshgrid(c, c, indexing="ij")
    out = np.zeros((len(scenes), GRID * GRID), bool)
    for i, s in enumerate(scenes):
        m = np.zeros((GRID, GRID), bool)
        for o in s["objects"]:
            m |= np.hypot(xx - o["x"], yy - o["y"]) <= o["r"] + margin
        out[i] = m.reshape(-1)
    return out


class CloudData:
    def __init__(self, scenes_dir: Path, tokens_dir: Path, log):
        self.sd, self.td = scenes_dir, tokens_dir
        if not (scenes_dir / "meta.json").exists():
            raise SystemExit(f"no scene cache in {scenes_dir}: run `run.py scenes` first")
        self.vocab = json.loads((scenes_dir / "cloud_vocab.json").read_text())
        ld = lambda n: np.load(scenes_dir / f"{n}.npy")  # noqa: E731
        self.sc_grids = ld("scenes_train").reshape(-1, GRID * GRID)
        self.sc_caps = ld("scenes_train_captions")
        self.sc_q = ld("scenes_train_questions")
        self.sc_a = ld("scenes_train_answers")
        self.sc_obj = object_cells(json.loads((scenes_dir / "scenes_train.json").read_text()))
        self.val = {"grids": ld("scenes_val").reshape(-1, GRID * GRID), "caps": ld("scenes_val_captions"),
                    "q": ld("scenes_val_questions"), "a": ld("scenes_val_answers"), "qt": ld("scenes_val_qtype"),
                    "obj": object_cells(json.loads((scenes_dir / "scenes_val.json").read_text()))}
        self.photos = np.load(tokens_dir / "photos_train.npy").reshape(-1, GRID * GRID) \
            if (tokens_dir / "photos_train.npy").exists() else None
        self.real = None
        if (tokens_dir / "captions_train.npy").exists() and (scenes_dir / "real_captions_train_text.npy").exists():
            self.real = (np.load(tokens_dir / "captions_train.npy").reshape(-1, GRID * GRID),
                         np.load(tokens_dir / "captions_train_image.npy"),
                         np.load(scenes_dir / "real_captions_train_text.npy"))
        log(f"data: {len(self.sc_grids)} training scenes, {len(self.val['grids'])} val scenes, photos "
            f"{0 if self.photos is None else len(self.photos)}, real captioned grids "
            f"{0 if self.real is None else len(self.real[0])}; text vocabulary {self.vocab['size']}")


def make_batch(data: CloudData, cfg: CloudConfig, args, mix: Dict[str, float], step: int):
    rng = step_rng(args.seed, step)
    B, T, A, S = args.batch, cfg.text_len, cfg.answer_len, cfg.seq_len
    kinds = rng.choice(len(KINDS), size=B, p=[mix[k] for k in KINDS])
    if data.photos is None:
        kinds[kinds == 2] = 0
    if data.real is None:
        kinds[kinds == 1] = 0
    kinds.sort()                                                  # image samples first, vqa last
    text = np.zeros((B, T), np.int64)
    tokens = np.empty((B, S), np.int64)
    target = np.empty((B, S), np.int64)
    masked = np.zeros((B, S), bool)
    cell_w = np.ones((B, S), np.float32)
    ans_in = np.zeros((B, A), np.int64)
    ans_tgt = np.full((B, A), -100, np.int64)
    for b, k in enumerate(kinds):
        kind = KINDS[k]
        if kind == "t2i":
            i = int(rng.integers(len(data.sc_grids)))
            g = data.sc_grids[i]
            if rng.random() >= args.text_dropout:
                text[b] = data.sc_caps[i, int(rng.integers(data.sc_caps.shape[1]))]
            if args.object_weight != 1.0:
                cell_w[b] = np.where(data.sc_obj[i], args.object_weight, 1.0)
        elif kind == "real":
            grids, owner, txt = data.real
            i = int(rng.integers(len(grids)))
            g = grids[i]
            if rng.random() >= args.text_dropout:
                text[b] = txt[owner[i], int(rng.integers(txt.shape[1]))]
        elif kind == "photo":
            g = data.photos[int(rng.integers(len(data.photos)))]
        else:
            i = int(rng.integers(len(data.sc_grids)))
            g = data.sc_grids[i]
            j = int(rng.integers(data.sc_q.shape[1]))
            text[b] = data.sc_q[i, j]
            a = data.sc_a[i, j].astype(np.int64)
            ans_in[b, 0] = ANS
            ans_in[b, 1:] = a[:A - 1]
            ans_tgt[b] = np.where(a == PAD, -100, a)
        target[b] = g
        if kind == "vqa":
            m = np.zeros(S, bool)
            if rng.random() < args.vqa_partial:
                m = rng.random(S) < rng.uniform(0, 0.6)
        else:
            m = maskgit_mask(rng)
        masked[b] = m
        tokens[b] = np.where(m, cfg.mask_id, g)
    n_img = int((kinds != 3).sum())
    return {"text": text, "tokens": tokens, "target": target, "masked": masked, "cell_w": cell_w, "ans_in": ans_in,
            "ans_tgt": ans_tgt, "n_img": n_img}


def loss_fn(model: CloudModel, batch, device, bf16: bool):
    t = lambda k: torch.from_numpy(batch[k]).to(device)  # noqa: E731
    text, tokens, target, masked = t("text"), t("tokens"), t("target"), t("masked")
    n_img = batch["n_img"]
    has_vqa = n_img < len(batch["text"])
    with autocast_ctx(device, bf16):
        h_img, h_ans = model.features(text, tokens, t("ans_in") if has_vqa else None)
        img_loss = torch.zeros((), device=device)
        if n_img:
            mk = masked[:n_img]
            idx = mk.reshape(-1).nonzero().squeeze(1)
            lg = model.image_logits(h_img[:n_img].reshape(-1, h_img.shape[-1])[idx])
            nll = F.cross_entropy(lg, target[:n_img].reshape(-1)[idx], reduction="none")
            cw = mk.float() * t("cell_w")[:n_img]
            w = (cw / cw.sum(1, keepdim=True).clamp(min=1e-6)).reshape(-1)[idx]
            img_loss = (nll * w).sum() / n_img
        txt_loss = torch.zeros((), device=device)
        if has_vqa:
            lg = model.answer_logits(h_ans[n_img:])
            txt_loss = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), t("ans_tgt")[n_img:].reshape(-1),
                                       ignore_index=-100)
    return img_loss, txt_loss


@torch.no_grad()
def validate(model: CloudModel, data: CloudData, n: int, device, bf16: bool, batch: int = 32) -> Dict:
    model.eval()
    cfg = model.cfg
    v = data.val
    n = min(n, len(v["grids"]))
    rng = np.random.default_rng(12345)
    masks = rng.random((n, cfg.seq_len)) < 0.5
    res = {}
    for name, use_text in (("caption", True), ("no_text", False)):
        tot, acc, cnt = 0.0, 0, 0
        for i in range(0, n, batch):
            g = torch.from_numpy(v["grids"][i:i + batch].astype(np.int64)).to(device)
            m = torch.from_numpy(masks[i:i + batch]).to(device)
            txt = torch.from_numpy(v["caps"][i:i + batch, 0].astype(np.int64)).to(device)
            if not use_text:
                txt = torch.zeros_like(txt)
            with autocast_ctx(device, bf16):
                h, _ = model.features(txt, torch.where(m, torch.full_like(g, cfg.mask_id), g))
                lg = model.image_logits(h[m])
            tot += float(F.cross_entropy(lg, g[m], reduction="sum"))
            acc += int((lg.argmax(-1) == g[m]).sum())
            cnt += int(m.sum())
        res[f"img_loss_{name}"] = tot / max(1, cnt)
        res[f"img_acc_{name}"] = acc / max(1, cnt)
    # text-to-image: object cells of a fully masked grid, with the scene's caption and another scene's
    for name, shift in (("caption", 0), ("wrong", 1)):
        tot, cnt = 0.0, 0
        for i in range(0, n, batch):
            idx = np.arange(i, min(n, i + batch))
            g = torch.from_numpy(v["grids"][idx].astype(np.int64)).to(device)
            txt = torch.from_numpy(v["caps"][(idx + shift) % n, 0].astype(np.int64)).to(device)
            obj = torch.from_numpy(v["obj"][idx]).to(device)
            with autocast_ctx(device, bf16):
                h, _ = model.features(txt, torch.full_like(g, cfg.mask_id))
                lg = model.image_logits(h[obj])
            tot += float(F.cross_entropy(lg, g[obj], reduction="sum"))
            cnt += int(obj.sum())
        res[f"obj_loss_{name}"] = tot / max(1, cnt)
    qi = np.arange(n) % v["q"].shape[1]
    correct, by_type = 0, {}
    for i in range(0, n, batch):
        sl = slice(i, min(n, i + batch))
        q = torch.from_numpy(v["q"][np.arange(n)[sl], qi[sl]].astype(np.int64)).to(device)
        g = torch.from_numpy(v["grids"][sl].astype(np.int64)).to(device)
        with autocast_ctx(device, bf16):
            pred = answer_greedy(model, q, g).cpu().numpy()
        gold = v["a"][np.arange(n)[sl], qi[sl]].astype(np.int64)
        ok = (pred == gold).all(1)
        correct += int(ok.sum())
        for t, o in zip(v["qt"][np.arange(n)[sl], qi[sl]], ok):
            e = by_type.setdefault(int(t), [0, 0])
            e[0] += int(o)
            e[1] += 1
    res["vqa_acc"] = correct / max(1, n)
    res["vqa_acc_by_type"] = {QUESTION_TYPES[k]: round(a / c, 3) for k, (a, c) in sorted(by_type.items())}
    model.train()
    return res


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    run_dir = (args.run_dir or default_run_dir("cloud")).expanduser().resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    log = Logger(run_dir)
    setup_threads(args.threads)
    device = pick_device(args.device)
    seed_all(args.seed)
    data = CloudData((args.scenes_dir or default_run_dir("scenes")).expanduser().resolve(),
                     (args.tokens_dir or default_run_dir("tokens")).expanduser().resolve(), log)
    mix = parse_mix(args.mix)

    ckpt_path = run_dir / "ckpt.pt"
    state = load_checkpoint(ckpt_path) if args.resume else None
    if state is not None:
        cfg = CloudConfig.from_dict(state["config"])
    else:
        cfg = CloudConfig(d_model=args.d_model, n_layers=args.layers, n_heads=args.heads, d_ff=args.d_ff,
                          text_vocab=int(data.vocab["size"]), text_len=int(data.vocab["text_len"]),
                          answer_len=int(data.vocab["answer_len"]), dropout=args.dropout)
    if cfg.text_vocab != data.vocab["size"]:
        raise SystemExit(f"checkpoint text vocabulary {cfg.text_vocab} != cloud_vocab.json {data.vocab['size']}")
    model = CloudModel(cfg).to(device)
    decay, no_decay = [], []
    for n_, p_ in model.named_parameters():
        (decay if p_.ndim > 1 and n_ not in ("row", "col", "text_pos", "ans_pos") else no_decay).append(p_)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    start_step, history, best, train_seconds = 0, [], None, 0.0
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        start_step = int(state["step"])
        history = state.get("history", [])
        best = state.get("best")
        train_seconds = float(state.get("train_seconds", 0.0))
        log(f"resumed from {ckpt_path} at step {start_step} ({fmt_duration(train_seconds)} trained so far)")
    else:
        log(f"starting a new cloud run in {run_dir}")
    log(f"model: {count_params(model) / 1e6:.2f} M params (image head {count_params(model.img_head) / 1e6:.2f} M, "
        f"text embedding {model.text_emb.weight.numel() / 1e6:.2f} M), config {cfg.to_dict()}")
    log(f"mix {mix}; env {env_info()} device {device} bf16 {args.bf16}")
    log(f"args {vars(args)}")

    stop = {"flag": False}

    def on_signal(signum, _frame):
        log(f"signal {signum}: saving a checkpoint and stopping")
        stop["flag"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def checkpoint(step: int) -> None:
        save_checkpoint(ckpt_path, {"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                                    "config": cfg.to_dict(), "args": {k: str(v) for k, v in vars(args).items()},
                                    "history": history, "best": best, "train_seconds": train_seconds})

    def score(v):   # higher is better: VQA accuracy minus the captioned image loss (nats) / 10
        return v["vqa_acc"] - v["img_loss_caption"] / 10.0

    prog = Progress(args.steps, start_step, args.batch)
    invocation_start = time.perf_counter()
    last_ckpt = time.perf_counter()
    win = {"img": 0.0, "txt": 0.0, "n": 0}
    step = start_step
    model.train()
    while step < args.steps and not stop["flag"]:
        t_step = time.perf_counter()
        batch = make_batch(data, cfg, args, mix, step)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args)
        img_loss, txt_loss = loss_fn(model, batch, device, args.bf16)
        loss = img_loss + args.text_weight * txt_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if args.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        if not torch.isfinite(loss):
            log(f"non-finite loss at step {step}; stopping without saving this state")
            return 2
        step += 1
        train_seconds += time.perf_counter() - t_step
        prog.update(step)
        win["img"] += float(img_loss)
        win["txt"] += float(txt_loss)
        win["n"] += 1
        if step % args.log_every == 0 or step == args.steps:
            eta = prog.eta(step)
            eta_s = fmt_duration(eta) if eta == eta else "?"
            fin = time.strftime("%H:%M", time.localtime(time.time() + eta)) if eta == eta else "?"
            k = max(1, win["n"])
            log(f"step {step}/{args.steps} ({100 * step / args.steps:.1f}%) {prog.items_per_sec():.1f} seq/s "
                f"eta {eta_s} (~{fin}) image {win['img'] / k:.3f} nats/token answer {win['txt'] / k:.3f} nats "
                f"lr {lr_at(step - 1, args):.2e}")
            win = {"img": 0.0, "txt": 0.0, "n": 0}
        if step % args.eval_every == 0 or step == args.steps:
            t_v = time.perf_counter()
            v = {"step": step, **validate(model, data, args.val_n, device, args.bf16)}
            history.append(v)
            if best is None or score(v) > score(best):
                best = v
                save_checkpoint(run_dir / "best.pt", {"model": model.state_dict(), "config": cfg.to_dict(),
                                                      "step": step, "val": v})
            log(f"val step {step}: image loss {v['img_loss_caption']:.3f} (acc {v['img_acc_caption']:.3f}) with "
                f"caption, {v['img_loss_no_text']:.3f} (acc {v['img_acc_no_text']:.3f}) without; VQA "
                f"{v['vqa_acc']:.3f} by type {v['vqa_acc_by_type']}; object cells, fully masked: "
                f"{v['obj_loss_caption']:.3f} with the caption, {v['obj_loss_wrong']:.3f} with another's "
                f"[best @ {best['step']}] "
                f"({time.perf_counter() - t_v:.0f}s)")
        if time.perf_counter() - last_ckpt > args.ckpt_minutes * 60:
            checkpoint(step)
            last_ckpt = time.perf_counter()
            log(f"checkpoint saved at step {step}")
        if args.max_minutes and time.perf_counter() - invocation_start > args.max_minutes * 60:
            log(f"--max-minutes {args.max_minutes} reached")
            break

    checkpoint(step)
    log(f"checkpoint saved at step {step} ({fmt_duration(train_seconds)} of training in total)")
    if step < args.steps:
        log("stopped before the last step; run the same command again to resume")
        return 0
    final = run_dir / "model.pt"
    save_checkpoint(final, {"model": model.state_dict(), "config": cfg.to_dict(), "step": step,
                            "val": history[-1] if history else None, "train_seconds": train_seconds})
    write_json(run_dir / "train_summary.json", {
        "step": step, "train_seconds": train_seconds, "seq_per_s": prog.items_per_sec(),
        "final_val": history[-1] if history else None, "best_val": best, "config": cfg.to_dict(),
        "params": count_params(model), "args": {k: str(v) for k, v in vars(args).items()}, "env": env_info()})
    log(f"final weights: {final}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
