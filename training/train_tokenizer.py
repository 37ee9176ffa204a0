"""Train the FSQ image tokenizer (stage ``tokenizer``).

    /usr/bin/python3 training/run.py tokenizer [--steps N] [--batch 32] [--data DIR] [--run-dir DIR] ...

Resumes from ``<run-dir>/ckpt.pt`` by default (``--no-resume`` starts over). When the configured number
of steps is reached it writes ``tokenizer.pt`` (weights + config), exports ONNX (``onnx/``) and evaluates
on Kodak (``eval_kodak.json``), unless ``--no-export`` / ``--no-eval``.
"""
from __future__ import annotations

import argparse
import math
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (DEFAULT_DATA_ROOT, Logger, Progress, autocast_ctx, default_run_dir, env_info,  # noqa: E402
                    fmt_duration, load_checkpoint, pick_device, psnr_from_mse, save_checkpoint, seed_all,
                    setup_threads, step_rng, write_json)
from data import DEFAULT_HOLDOUT, PhotoCrops, fixed_val_crops, split_photos, u8_to_float  # noqa: E402
from tokenizer import Tokenizer, TokenizerConfig, count_params  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run.py tokenizer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("data / run")
    g.add_argument("--data", type=Path, default=DEFAULT_DATA_ROOT / "photos", help="folder of training photos")
    g.add_argument("--holdout", default=",".join(DEFAULT_HOLDOUT), help="file stems held out for validation")
    g.add_argument("--kodak", type=Path, default=DEFAULT_DATA_ROOT / "kodak", help="Kodak folder (evaluation only)")
    g.add_argument("--run-dir", type=Path, default=None,
                   help="default ${UNIMIC_RUNS:-~/.cache/unimic/runs}/tokenizer")
    g.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="resume from <run-dir>/ckpt.pt if present (default on)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--threads", type=int, default=2)
    g.add_argument("--device", default="auto", help="auto | cpu | cuda")
    g.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True, help="bf16 autocast")
    g.add_argument("--max-minutes", type=float, default=0.0,
                   help="stop (with a checkpoint) after this many minutes of this invocation; 0 = no limit")
    g.add_argument("--export", action=argparse.BooleanOptionalAction, default=True, help="export ONNX at the end")
    g.add_argument("--eval", action=argparse.BooleanOptionalAction, default=True, help="Kodak eval at the end")
    g.add_argument("--kodak-limit", type=int, default=0, help="evaluate only the first N Kodak images (smoke tests)")
    o = p.add_argument_group("optimisation")
    o.add_argument("--steps", type=int, default=10000)
    o.add_argument("--batch", type=int, default=32)
    o.add_argument("--lr", type=float, default=6e-4)
    o.add_argument("--min-lr-ratio", type=float, default=0.02, help="cosine floor as a fraction of --lr")
    o.add_argument("--warmup", type=int, default=300)
    o.add_argument("--wd", type=float, default=1e-4)
    o.add_argument("--clip", type=float, default=1.0, help="gradient-norm clip (0 = off)")
    o.add_argument("--l1", type=float, default=1.0, help="L1 weight (images in [-1,1])")
    o.add_argument("--mse", type=float, default=1.0, help="MSE weight (images in [-1,1])")
    o.add_argument("--crop", type=int, default=128)
    o.add_argument("--max-scale", type=float, default=8.0, help="largest random downscale factor before cropping")
    r = p.add_argument_group("reporting")
    r.add_argument("--log-every", type=int, default=25)
    r.add_argument("--eval-every", type=int, default=250, help="held-out PSNR every N steps")
    r.add_argument("--ckpt-minutes", type=float, default=5.0)
    m = p.add_argument_group("model (ignored when resuming: the checkpoint's config wins)")
    d = TokenizerConfig()
    m.add_argument("--levels", default=",".join(map(str, d.levels)))
    m.add_argument("--channels", default=",".join(map(str, d.channels)))
    m.add_argument("--patch", type=int, default=d.patch)
    m.add_argument("--bottleneck", type=int, default=d.bottleneck)
    m.add_argument("--enc-blocks", type=int, default=d.enc_blocks)
    m.add_argument("--dec-blocks", type=int, default=d.dec_blocks)
    m.add_argument("--mid-blocks", type=int, default=d.mid_blocks)
    return p


def lr_at(step: int, args) -> float:
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    floor = args.lr * args.min_lr_ratio
    return floor + (args.lr - floor) * 0.5 * (1 + math.cos(math.pi * t))


def token_stats(ids: torch.Tensor, codebook_size: int):
    counts = torch.bincount(ids.reshape(-1).long(), minlength=codebook_size).double()
    p = counts[counts > 0] / counts.sum()
    used = int((counts > 0).sum())
    return {"used": used, "usage_pct": 100.0 * used / codebook_size, "entropy_bits": float(-(p * p.log2()).sum()),
            "n_tokens": int(counts.sum())}


@torch.no_grad()
def validate(model: Tokenizer, val_u8: torch.Tensor, device, bf16: bool, chunk: int = 32):
    model.eval()
    psnrs, all_ids = [], []
    for i in range(0, len(val_u8), chunk):
        x = u8_to_float(val_u8[i:i + chunk].to(device)).mul(2).sub(1).contiguous(memory_format=torch.channels_last)
        with autocast_ctx(device, bf16):
            y, ids = model(x)
        y8 = ((y.float() + 1) * 127.5).round().clamp(0, 255)
        x8 = val_u8[i:i + chunk].to(device).float()
        mse = (y8 - x8).pow(2).flatten(1).mean(1)
        psnrs += [psnr_from_mse(float(v), 255.0) for v in mse]
        all_ids.append(ids.cpu())
    model.train()
    st = token_stats(torch.cat(all_ids), model.fsq.codebook_size)
    return {"psnr": float(np.mean(psnrs)), **st}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    run_dir = (args.run_dir or default_run_dir("tokenizer")).expanduser().resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    log = Logger(run_dir)
    setup_threads(args.threads)
    device = pick_device(args.device)
    seed_all(args.seed)

    ckpt_path = run_dir / "ckpt.pt"
    state = load_checkpoint(ckpt_path) if args.resume else None
    if state is not None:
        cfg = TokenizerConfig.from_dict(state["config"])
    else:
        cfg = TokenizerConfig(levels=tuple(int(v) for v in args.levels.split(",")),
                              channels=tuple(int(v) for v in args.channels.split(",")),
                              patch=args.patch, bottleneck=args.bottleneck, enc_blocks=args.enc_blocks,
                              dec_blocks=args.dec_blocks, mid_blocks=args.mid_blocks, image_size=args.crop)
    if args.crop % cfg.downsample:
        raise SystemExit(f"--crop {args.crop} must be a multiple of the downsampling factor {cfg.downsample}")

    model = Tokenizer(cfg).to(device).to(memory_format=torch.channels_last)
    decay, no_decay = [], []
    for n, p_ in model.named_parameters():
        (decay if p_.ndim > 1 else no_decay).append(p_)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.99))
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
        log(f"starting a new run in {run_dir}")

    holdout = [s.strip() for s in args.holdout.split(",") if s.strip()]
    train_files, val_files = split_photos(args.data, holdout)
    t0 = time.perf_counter()
    train_ds = PhotoCrops(train_files, crop=args.crop, max_scale=args.max_scale)
    val_u8 = fixed_val_crops(val_files, crop=args.crop) if val_files else None
    log(f"data {args.data}: {len(train_files)} training photos, {len(val_files)} held out "
        f"({', '.join(p.stem for p in val_files)}), {0 if val_u8 is None else len(val_u8)} validation crops, "
        f"loaded in {time.perf_counter() - t0:.1f}s")
    log(f"model {count_params(model) / 1e6:.2f} M params (encoder {count_params(model.encoder) / 1e6:.2f} M, "
        f"decoder {count_params(model.decoder) / 1e6:.2f} M), {cfg.downsample}x downsampling, "
        f"{cfg.codebook_size} codes, config {cfg.to_dict()}")
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

    def next_batch(step: int) -> torch.Tensor:
        return train_ds.batch(step_rng(args.seed, step), args.batch)

    prog = Progress(args.steps, start_step, args.batch)
    pool = ThreadPoolExecutor(max_workers=1)  # PIL resizing releases the GIL: prepare batch n+1 during step n
    pending = pool.submit(next_batch, start_step) if start_step < args.steps else None
    invocation_start = time.perf_counter()
    last_ckpt = time.perf_counter()
    win = {"loss": 0.0, "l1": 0.0, "mse": 0.0, "n": 0}
    step = start_step
    model.train()
    while step < args.steps and not stop["flag"]:
        t_step = time.perf_counter()
        batch = pending.result()
        pending = pool.submit(next_batch, step + 1) if step + 1 < args.steps else None
        x = u8_to_float(batch.to(device)).mul(2).sub(1).contiguous(memory_format=torch.channels_last)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args)
        with autocast_ctx(device, args.bf16):
            y, _ = model(x)
        diff = y.float() - x
        l1 = diff.abs().mean()
        mse = diff.pow(2).mean()
        loss = args.l1 * l1 + args.mse * mse
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
        win["loss"] += float(loss)
        win["l1"] += float(l1)
        win["mse"] += float(mse)
        win["n"] += 1

        if step % args.log_every == 0 or step == args.steps:
            n = max(1, win["n"])
            # train PSNR from the MSE on [-1,1] images: peak-to-peak 2
            log(f"{prog.line(step)} loss {win['loss'] / n:.4f} l1 {win['l1'] / n:.4f} "
                f"train_psnr {psnr_from_mse(win['mse'] / n, 2.0):.2f} lr {lr_at(step - 1, args):.2e}")
            win = {"loss": 0.0, "l1": 0.0, "mse": 0.0, "n": 0}
        if val_u8 is not None and (step % args.eval_every == 0 or step == args.steps):
            v = validate(model, val_u8, device, args.bf16)
            v["step"] = step
            history.append(v)
            if best is None or v["psnr"] > best["psnr"]:
                best = v
                save_checkpoint(run_dir / "best.pt", {"model": model.state_dict(), "config": cfg.to_dict(),
                                                      "step": step, "val": v})
            log(f"val step {step}: held-out PSNR {v['psnr']:.2f} dB, codes used {v['used']} "
                f"({v['usage_pct']:.1f}%), unigram entropy {v['entropy_bits']:.2f} bits "
                f"[best {best['psnr']:.2f} @ {best['step']}]")
        if time.perf_counter() - last_ckpt > args.ckpt_minutes * 60:
            checkpoint(step)
            last_ckpt = time.perf_counter()
            log(f"checkpoint saved at step {step}")
        if args.max_minutes and time.perf_counter() - invocation_start > args.max_minutes * 60:
            log(f"--max-minutes {args.max_minutes} reached")
            break

    if pending is not None:
        pending.cancel()
    pool.shutdown(wait=False)
    checkpoint(step)
    log(f"checkpoint saved at step {step} ({fmt_duration(train_seconds)} of training in total)")
    if step < args.steps:
        log("stopped before the last step; run the same command again to resume")
        return 0

    final = run_dir / "tokenizer.pt"
    save_checkpoint(final, {"model": model.state_dict(), "config": cfg.to_dict(), "step": step,
                            "val": history[-1] if history else None, "train_seconds": train_seconds})
    summary = {"step": step, "train_seconds": train_seconds, "final_val": history[-1] if history else None,
               "best_val": best, "config": cfg.to_dict(), "params": count_params(model),
               "args": {k: str(v) for k, v in vars(args).items()}, "env": env_info()}
    write_json(run_dir / "train_summary.json", summary)
    log(f"final weights: {final}")
    rc = 0
    if args.export:
        try:
            from export_tokenizer import export
            info = export(final, run_dir / "onnx", log=log)
            log(f"ONNX export: {info['files']}")
        except Exception as e:  # training results are already saved; report and carry on
            log(f"ONNX export FAILED: {e!r}")
            rc = 1
    if args.eval:
        try:
            from eval_tokenizer import evaluate_checkpoint
            res = evaluate_checkpoint(final, args.kodak, run_dir / "eval_kodak.json", limit=args.kodak_limit,
                                      threads=args.threads, log=log)
            log(f"Kodak: {res['summary_line']}")
        except Exception as e:
            log(f"Kodak evaluation FAILED: {e!r}")
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
