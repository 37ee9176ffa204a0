"""Train an entropy model on cached token grids (stages ``entropy-ar``, ``entropy-masked``, ``entropy-text``).

    /usr/bin/python3 training/run.py entropy-masked [--steps N] [--batch 32] [--run-dir DIR] ...
    (= train_entropy.py --model masked ...)

Models (``entropy_models.py``): ``ar`` (causal, raster order), ``masked`` (bidirectional with MASK,
trained on the protocol's cosine and coarse-to-fine schedules: a random schedule and stage s per
sample, stages < s visible, loss on stage s), ``text`` (``masked`` + a caption prefix; by default
initialised from the masked model's weights, ``--init``).

Data: ``RUNS/tokens`` (``run.py tokens``). ``ar``/``masked`` train on ``photos_train`` + the training
caption images' grids (``captions_train``, no text); ``text`` trains on ``captions_train`` with one of
the image's five captions at random, mixed with a fraction ``--uncond-frac`` of photo grids with an
empty caption (all PAD) so that the model still works without text. Validation: held-out photo crops
(``photos_val``, a fixed subset) with the cosine 8-stage schedule (ar: raster teacher forcing); the
text model on held-out caption images (``captions_val``, first caption).

Run directory ``RUNS/entropy-<model>`` (``--run-dir``): ``ckpt.pt`` (atomic, resumable: run the same
command again), ``best.pt`` (best validation bits), ``model.pt`` (final), ``train.log``,
``train_summary.json``. bf16 autocast on CPU by default; CUDA when available (``--device auto``).
"""
from __future__ import annotations

import argparse
import math
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (Logger, Progress, autocast_ctx, default_run_dir, env_info, fmt_duration,  # noqa: E402
                    load_checkpoint, pick_device, save_checkpoint, seed_all, setup_threads, step_rng, write_json)
from entropy_data import LN2, MaskedBatcher, TokenSets, bits_ar, bits_masked  # noqa: E402
from entropy_models import EntropyConfig, EntropyModel, count_params  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run.py entropy-<model>", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["ar", "masked", "text"], required=True)
    g = p.add_argument_group("data / run")
    g.add_argument("--tokens-dir", type=Path, default=None, help="default RUNS/tokens")
    g.add_argument("--train-sets", default="photos_train,captions_train",
                   help="token sets for ar/masked (and the unconditional part of text)")
    g.add_argument("--run-dir", type=Path, default=None, help="default RUNS/entropy-<model>")
    g.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True)
    g.add_argument("--init", type=Path, default=None,
                   help="initial weights (text: default RUNS/entropy-masked/model.pt, else best.pt, if present)")
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
    o.add_argument("--p-cosine", type=float, default=0.5, help="masked/text: share of cosine (vs coarse-to-fine) schedules")
    o.add_argument("--loss-on", choices=["stage", "masked"], default="stage",
                   help="masked/text: loss on stage s only (default) or on every masked position")
    o.add_argument("--uncond-frac", type=float, default=0.25, help="text: share of photo grids with an empty caption")
    r = p.add_argument_group("reporting")
    r.add_argument("--log-every", type=int, default=25)
    r.add_argument("--eval-every", type=int, default=500)
    r.add_argument("--val-grids", type=int, default=96, help="held-out grids used by the periodic validation")
    r.add_argument("--ckpt-minutes", type=float, default=5.0)
    m = p.add_argument_group("model (ignored when resuming)")
    d = EntropyConfig()
    m.add_argument("--d-model", type=int, default=d.d_model)
    m.add_argument("--layers", type=int, default=d.n_layers)
    m.add_argument("--heads", type=int, default=d.n_heads)
    m.add_argument("--d-ff", type=int, default=d.d_ff)
    m.add_argument("--embed", choices=["digits", "full"], default=d.embed)
    m.add_argument("--head", choices=["digits", "flat"], default=d.head)
    m.add_argument("--head-hidden", type=int, default=d.head_hidden)
    m.add_argument("--text-len", type=int, default=d.text_len)
    m.add_argument("--dropout", type=float, default=0.0)
    return p


def lr_at(step: int, args) -> float:
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    floor = args.lr * args.min_lr_ratio
    return floor + (args.lr - floor) * 0.5 * (1 + math.cos(math.pi * t))


def validate(model, kind: str, val, device, bf16: bool):
    model.eval()
    if kind == "ar":
        r = bits_ar(model, val["grids"], device, bf16)
    else:
        r = bits_masked(model, val["grids"], "cosine", 8, device, bf16, text=val.get("text"))
    model.train()
    return r


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    kind = args.model
    run_dir = (args.run_dir or default_run_dir(f"entropy-{kind}")).expanduser().resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    log = Logger(run_dir)
    setup_threads(args.threads)
    device = pick_device(args.device)
    seed_all(args.seed)
    tokens = TokenSets((args.tokens_dir or default_run_dir("tokens")).expanduser())

    ckpt_path = run_dir / "ckpt.pt"
    state = load_checkpoint(ckpt_path) if args.resume else None
    text_vocab = tokens.caption_vocab()["size"] if kind == "text" else 0
    if state is not None:
        cfg = EntropyConfig.from_dict(state["config"])
    else:
        cfg = EntropyConfig(kind=kind, d_model=args.d_model, n_layers=args.layers, n_heads=args.heads,
                            d_ff=args.d_ff, embed=args.embed, head=args.head, head_hidden=args.head_hidden,
                            text_vocab=text_vocab, text_len=args.text_len, dropout=args.dropout)
    model = EntropyModel(cfg).to(device)
    decay, no_decay = [], []
    for n_, p_ in model.named_parameters():
        (decay if p_.ndim > 1 and "row" not in n_ and "col" not in n_ and "pos" not in n_ else no_decay).append(p_)
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
        log(f"starting a new {kind} run in {run_dir}")
        init = args.init
        if init is None and kind == "text":
            for cand in ("model.pt", "best.pt"):
                c = default_run_dir("entropy-masked") / cand
                if c.exists():
                    init = c
                    break
        if init is not None:
            src = torch.load(init, map_location="cpu")
            own = model.state_dict()
            take = {k: v for k, v in src["model"].items() if k in own and own[k].shape == v.shape}
            model.load_state_dict(take, strict=False)
            log(f"initialised {len(take)}/{len(own)} tensors from {init} (step {src.get('step')}); "
                f"new: {sorted(set(own) - set(take))}")
        elif kind == "text":
            log("note: no masked-model weights found to start from; the text model trains from scratch")

    # ---------------------------------------------------------------------------------------- data
    sets = [s.strip() for s in args.train_sets.split(",") if s.strip()]
    pool = tokens.train_pool(sets)
    cap_grids = cap_owner = cap_text = None
    if kind == "text":
        cap_grids = tokens.grids("captions_train")
        cap_owner = tokens.get("captions_train_image")
        cap_text = tokens.get("captions_train_text").astype(np.int64)
        uncond_pool = tokens.train_pool([s for s in sets if s != "captions_train"] or ["photos_train"])
        vg = tokens.grids("captions_val")
        vt = tokens.get("captions_val_text")[tokens.get("captions_val_image"), 0].astype(np.int64)
        val = {"grids": vg[:args.val_grids], "text": vt[:args.val_grids], "name": "captions_val (caption 0)"}
    else:
        vg = tokens.grids("photos_val")
        sel = np.linspace(0, len(vg) - 1, min(args.val_grids, len(vg))).round().astype(int)
        val = {"grids": vg[sel], "name": "photos_val"}
    batcher = MaskedBatcher(cfg.mask_id, p_cosine=args.p_cosine, loss_on=args.loss_on)
    T = cfg.text_len

    def next_batch(step: int):
        rng = step_rng(args.seed, step)
        text = None
        if kind == "text":
            B = args.batch
            n_unc = int(rng.binomial(B, args.uncond_frac))
            gi = rng.integers(len(cap_grids), size=B - n_unc)
            grids = np.concatenate([cap_grids[gi], uncond_pool[rng.integers(len(uncond_pool), size=n_unc)]])
            text = np.zeros((B, T), dtype=np.int64)
            text[:B - n_unc] = cap_text[cap_owner[gi], rng.integers(cap_text.shape[1], size=B - n_unc), :T]
        else:
            grids = pool[rng.integers(len(pool), size=args.batch)]
        if kind == "ar":
            return grids, grids, None, None
        inp, target = batcher(grids, rng)
        return inp, grids, target, text

    log(f"data {tokens.dir}: train pool {len(pool)} grids ({', '.join(sets)})"
        + (f", captions {len(cap_grids)} grids, uncond pool {len(uncond_pool)}" if kind == "text" else "")
        + f"; validation {len(val['grids'])} grids of {val['name']}")
    log(f"model {kind}: {count_params(model) / 1e6:.2f} M params (head {count_params(model.head) / 1e6:.2f} M), "
        f"config {cfg.to_dict()}")
    log(f"env {env_info()} device {device} bf16 {args.bf16}")
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

    prog = Progress(args.steps, start_step, args.batch)
    # Batches are built inline (~10-15 ms of numpy/Python per step): a background thread holding the
    # GIL stalls the many small torch ops of the main thread (measured: 13 vs 43 seq/s).
    invocation_start = time.perf_counter()
    last_ckpt = time.perf_counter()
    win = {"bits": 0.0, "n": 0}
    step = start_step
    model.train()
    while step < args.steps and not stop["flag"]:
        t_step = time.perf_counter()
        inp, tgt, tmask, text = next_batch(step)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args)
        x = torch.from_numpy(inp).to(device)
        y = torch.from_numpy(tgt).to(device)
        txt = None if text is None else torch.from_numpy(text).to(device)
        with autocast_ctx(device, args.bf16):
            h = model.features(x, txt)
            if tmask is None:
                loss = model.nll(h, y).mean()
            else:
                tm = torch.from_numpy(tmask).to(device)
                w = tm.float() / tm.sum(1, keepdim=True).clamp(min=1).float()   # per-sample mean over targets
                idx = tm.reshape(-1).nonzero().squeeze(1)
                nll = model.nll(h.reshape(-1, h.shape[-1])[idx], y.reshape(-1)[idx])
                loss = (nll * w.reshape(-1)[idx]).sum() / len(inp)
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
        win["bits"] += float(loss) / LN2
        win["n"] += 1
        if step % args.log_every == 0 or step == args.steps:
            eta = prog.eta(step)
            eta_s = fmt_duration(eta) if eta == eta else "?"
            fin = time.strftime("%H:%M", time.localtime(time.time() + eta)) if eta == eta else "?"
            log(f"step {step}/{args.steps} ({100 * step / args.steps:.1f}%) {prog.items_per_sec():.1f} seq/s "
                f"eta {eta_s} (~{fin}) train {win['bits'] / max(1, win['n']):.3f} bits/token "
                f"lr {lr_at(step - 1, args):.2e}")
            win = {"bits": 0.0, "n": 0}
        if step % args.eval_every == 0 or step == args.steps:
            t_v = time.perf_counter()
            v = validate(model, kind, val, device, args.bf16)
            v = {"step": step, "bits_per_token": v["bits_per_token"],
                 **({"by_stage": v["bits_per_token_by_stage"]} if "bits_per_token_by_stage" in v else {})}
            history.append(v)
            if best is None or v["bits_per_token"] < best["bits_per_token"]:
                best = v
                save_checkpoint(run_dir / "best.pt", {"model": model.state_dict(), "config": cfg.to_dict(),
                                                      "step": step, "val": v})
            log(f"val step {step}: {v['bits_per_token']:.4f} bits/token on {val['name']}"
                f"{' (cosine, 8 stages)' if kind != 'ar' else ' (raster)'} "
                f"[best {best['bits_per_token']:.4f} @ {best['step']}] ({time.perf_counter() - t_v:.0f}s)")
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
                            "val": history[-1] if history else None, "train_seconds": train_seconds,
                            "tokens": tokens.meta.get("tokenizer")})
    write_json(run_dir / "train_summary.json", {
        "model": kind, "step": step, "train_seconds": train_seconds, "seq_per_s": prog.items_per_sec(),
        "final_val": history[-1] if history else None, "best_val": best, "config": cfg.to_dict(),
        "params": count_params(model), "tokens": tokens.meta.get("tokenizer"),
        "args": {k: str(v) for k, v in vars(args).items()}, "env": env_info()})
    log(f"final weights: {final}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
