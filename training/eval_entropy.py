"""Bits per token of the entropy models (stage ``eval-entropy``).

    /usr/bin/python3 training/run.py eval-entropy [--models ar,masked,text] [--limit N] [--out FILE]

The figure is the ideal code length ``mean over tokens of -log2 p(true token)`` (the range coder adds
~0.02%), on:

* ``photos_val``: fixed crops of the held-out photos 041-044 (``tokens.py``);
* ``kodak128`` (24 grids: Kodak box /4, centre 128x128) and ``kodak_tiles`` (144 grids: box /2, six
  128x128 tiles per image): evaluation only, never used for training or tuning;
* ``captions_val``: the held-out 10% of the caption images (centre crop), each with each of its five
  captions: the text-conditional model versus the masked model on the same grids and schedules.

Baselines: ``uniform`` = 13 bits; ``static`` = unigram histogram of the training tokens
(``photos_train`` + ``captions_train``) with add-one smoothing. ``ar``: raster order, teacher forcing
(the exact code length of sequential coding). ``masked``: progressive coding with the protocol's
schedules (``schedules.py`` = the TypeScript ``buildSchedule``): cosine with 1/2/4/8/16 stages and
coarse-to-fine with 2..5 stages (5 is the most a 16x16 grid allows); grid i uses schedule seed i.
Each stage is predicted from all earlier ones in one forward pass; per-stage bits are reported too.

PyTorch bf16 autocast by default (CPU fp32 matmul is ~300x slower here); ``--no-bf16`` runs fp32
(the exported ONNX computes in fp32; ``--fp32-check N`` measures the gap on N grids).
``--fp16-weights`` rounds the weights to fp16 first, as stored by ``export-entropy --fp16-weights``.
Writes ``RUNS/entropy-eval/eval.json`` (``--out``) and prints a table.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Dict

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Logger, default_run_dir, env_info, fmt_duration, pick_device, setup_threads, write_json  # noqa: E402
from entropy_data import TokenSets, bits_ar, bits_masked, static_bits  # noqa: E402
from export_entropy import find_checkpoint, load_entropy_model  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run.py eval-entropy", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokens-dir", type=Path, default=None)
    p.add_argument("--models", default="ar,masked,text")
    p.add_argument("--ckpt", action="append", default=[], help="MODEL=PATH (default RUNS/entropy-MODEL/model.pt)")
    p.add_argument("--sets", default="photos_val,kodak128,kodak_tiles")
    p.add_argument("--train-sets", default="photos_train,captions_train", help="for the static baseline")
    p.add_argument("--cosine-stages", default="1,2,4,8,16")
    p.add_argument("--c2f-stages", default="2,3,4,5")
    p.add_argument("--text-stages", default="1,8", help="cosine stage counts for text vs masked on captions_val")
    p.add_argument("--limit", type=int, default=0, help="at most N grids per set (smoke tests)")
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--fp16-weights", action="store_true")
    p.add_argument("--fp32-check", type=int, default=0, help="also compare bf16 vs fp32 bits on N grids")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", type=Path, default=None, help="default RUNS/entropy-eval/eval.json")
    return p


def _ints(s: str):
    return [int(v) for v in s.split(",") if v.strip()]


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_threads(args.threads)
    device = pick_device(args.device)
    out = (args.out or default_run_dir("entropy-eval") / "eval.json").expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    log = Logger(out.parent, "eval.log")
    tokens = TokenSets((args.tokens_dir or default_run_dir("tokens")).expanduser())
    train = tokens.train_pool([s for s in args.train_sets.split(",") if s])
    paths = dict(kv.split("=", 1) for kv in args.ckpt)
    models = {}
    for m in [s for s in args.models.split(",") if s]:
        try:
            ck = Path(paths[m]) if m in paths else find_checkpoint(m)
        except FileNotFoundError as e:
            log(f"skip {m}: {e}")
            continue
        model = load_entropy_model(ck).to(device)
        if args.fp16_weights:
            with torch.no_grad():
                for p_ in model.parameters():
                    p_.copy_(p_.half().float())
        models[m] = model
        st = torch.load(ck, map_location="cpu")
        log(f"{m}: {ck} (step {st.get('step')}, head {model.cfg.head}, embed {model.cfg.embed})")
    res: Dict = {"method": "mean over tokens of -log2 p(true token); bf16" if args.bf16 else "fp32",
                 "tokens": tokens.meta.get("tokenizer"), "sets": {}, "env": env_info(),
                 "args": {k: str(v) for k, v in vars(args).items()}}
    t0 = time.perf_counter()
    cos_st, c2f_st = _ints(args.cosine_stages), _ints(args.c2f_stages)
    for name in [s for s in args.sets.split(",") if s]:
        if not tokens.has(name):
            log(f"skip {name}: not in {tokens.dir}")
            continue
        g = tokens.grids(name)
        if args.limit:
            g = g[:args.limit]
        r = {"n_grids": int(len(g)), "uniform": 13.0, "static": static_bits(train, g)}
        if "ar" in models:
            r["ar"] = bits_ar(models["ar"], g, device, args.bf16)
        for mname in ("masked",):
            if mname not in models:
                continue
            r[mname] = {"cosine": {}, "coarse-to-fine": {}}
            for S in cos_st:
                r[mname]["cosine"][f"s{S}"] = bits_masked(models[mname], g, "cosine", S, device, args.bf16)
            for S in c2f_st:
                r[mname]["coarse-to-fine"][f"s{S}"] = bits_masked(models[mname], g, "coarse-to-fine", S, device,
                                                                  args.bf16)
        res["sets"][name] = r
        log(f"{name}: {len(g)} grids done ({fmt_duration(time.perf_counter() - t0)})")

    if ("text" in models or "masked" in models) and tokens.has("captions_val"):
        g0 = tokens.grids("captions_val")
        owner = tokens.get("captions_val_image")
        texts = tokens.get("captions_val_text").astype(np.int64)
        if args.limit:
            g0, owner = g0[:args.limit], owner[:args.limit]
        n_cap = texts.shape[1]
        g = np.repeat(g0, n_cap, axis=0)
        t = texts[np.repeat(owner, n_cap), np.tile(np.arange(n_cap), len(g0))]
        r = {"n_images": int(len(g0)), "n_grid_caption_pairs": int(len(g)), "uniform": 13.0,
             "static": static_bits(train, g0)}
        for S in _ints(args.text_stages):
            if "masked" in models:
                r[f"masked_cosine_s{S}"] = bits_masked(models["masked"], g, "cosine", S, device, args.bf16)
            if "text" in models:
                r[f"text_cosine_s{S}"] = bits_masked(models["text"], g, "cosine", S, device, args.bf16, text=t)
                r[f"text_empty_caption_cosine_s{S}"] = bits_masked(models["text"], g, "cosine", S, device,
                                                                   args.bf16, text=np.zeros_like(t))
        if "ar" in models:
            r["ar"] = bits_ar(models["ar"], g0, device, args.bf16)
        res["sets"]["captions_val"] = r
        log(f"captions_val: {len(g0)} images x {n_cap} captions done ({fmt_duration(time.perf_counter() - t0)})")

    if args.fp32_check and "masked" in models and tokens.has("photos_val"):
        g = tokens.grids("photos_val")[:args.fp32_check]
        a = bits_masked(models["masked"], g, "cosine", 8, device, True)["bits_per_token"]
        b = bits_masked(models["masked"], g, "cosine", 8, device, False)["bits_per_token"]
        res["fp32_check"] = {"n_grids": len(g), "masked_cosine_s8_bf16": a, "masked_cosine_s8_fp32": b}
        log(f"fp32 check on {len(g)} grids: masked cosine s8 bf16 {a:.4f} vs fp32 {b:.4f} bits/token")

    # flat summary in the names of the bench (issue 3, item 7), on kodak128
    k = res["sets"].get("kodak128")
    if k:
        flat = {"uniform": 13.0, "static": k["static"]}
        if "ar" in k:
            flat["ar"] = k["ar"]["bits_per_token"]
        if "masked" in k:
            for s_, v in k["masked"]["cosine"].items():
                flat[f"masked_{s_}"] = v["bits_per_token"]
        cv = res["sets"].get("captions_val", {})
        if "text_cosine_s8" in cv:
            flat["text_conditional"] = cv["text_cosine_s8"]["bits_per_token"]
        if "masked_cosine_s8" in cv:
            flat["masked_s8_captions"] = cv["masked_cosine_s8"]["bits_per_token"]
        res["bits_per_token"] = flat
    res["seconds"] = round(time.perf_counter() - t0, 1)
    write_json(out, res)
    log(f"wrote {out}")
    for line in table(res):
        log(line)
    return 0


def table(res: Dict):
    sets = res["sets"]
    cols = [n for n in sets if n != "captions_val"]
    yield "bits/token | " + " | ".join(cols)
    rows = [("uniform", lambda r: r["uniform"]), ("static", lambda r: r["static"])]
    any_r = next(iter(sets.values()), {})
    if "ar" in any_r:
        rows.append(("ar (raster)", lambda r: r["ar"]["bits_per_token"]))
    if "masked" in any_r:
        for kind, sub in any_r["masked"].items():
            for s_ in sub:
                rows.append((f"masked {kind} {s_}", lambda r, kind=kind, s_=s_: r["masked"][kind][s_]["bits_per_token"]))
    for label, fn in rows:
        vals = []
        for c in cols:
            try:
                vals.append(f"{fn(sets[c]):.3f}")
            except KeyError:
                vals.append("-")
        yield f"{label} | " + " | ".join(vals)
    cv = sets.get("captions_val")
    if cv:
        parts = [f"{k_} {v['bits_per_token'] if isinstance(v, dict) else v:.3f}" for k_, v in cv.items()
                 if k_ not in ("n_images", "n_grid_caption_pairs")]
        yield f"captions_val ({cv['n_images']} images x captions): " + ", ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
