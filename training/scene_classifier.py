"""Scene attribute classifier (stage ``scene-classifier``): our analogue of CLIP-T for text-to-image.

    /usr/bin/python3 training/run.py scene-classifier [--steps 3000] [--batch 64] [--threads 2] [--max-minutes M]

A small CNN reads a 128x128 RGB scene and predicts, for each of the 5 object regions (left, right,
top, bottom, centre: ``scenes.POSITION_NAMES``), whether it is empty or which shape it holds, and the
object's colour and size; plus the background colour. Counts per shape/colour and (shape, colour)
presence follow from the occupied regions (``derived``). Text-to-image attribute accuracy = these
predictions on the decoded generated image compared with the scene whose caption was the prompt;
predictions on the image of a *different* scene give the chance level (``shuffled`` below).

Training images: ``--train-n`` renders of the training split (seed 1000, ``scenes.make_scene``),
half of them (``--recon-frac``) replaced by the tokenizer's reconstruction of their cached token grids
(``RUNS/scenes/scenes_train.npy`` decoded with ``RUNS/tokenizer/best.pt``), since generated images
are decoded token grids; random horizontal flips (swapping the left and right region labels). Held-out evaluation: the test split (seed 3000):
raw renders and reconstructions of their token grids (``scenes_test.npy``).

Model: 4 stride-2 stages (32, 64, 128, 128 channels, two 3x3 convs each, LeakyReLU), the flattened
8x8 map (position-aware) -> 256 units -> one linear output per group (~2.7 M params). AdamW, cosine
schedule, bf16 autocast, channels_last, seed 0. Run directory ``RUNS/scene-classifier``: ``ckpt.pt``
(resumable), ``model.pt``, ``train.log``, ``eval.json``, and ``onnx/scene_classifier.onnx`` with
``onnx/export.json``:

``scene_classifier.onnx``
    input   ``image`` float32 [N,3,128,128], RGB in [0,1]
    outputs ``region_shape_logits`` [N,5,6] (regions left, right, top, bottom, centre; class 0 = empty,
            1 + index in ``scenes.SHAPES``), ``region_colour_logits`` [N,5,8] (``scenes.COLOUR_NAMES``),
            ``region_size_logits`` [N,5,2] (small, large), ``background_logits`` [N,4] (``scenes.BG_NAMES``);
            argmax each; colour and size only mean something where the region is not empty.
"""
from __future__ import annotations

import argparse
import math
import signal
import sys
import time
from pathlib import Path
from typing import Dict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scenes as S  # noqa: E402
from common import (Logger, Progress, autocast_ctx, default_run_dir, env_info, fmt_duration,  # noqa: E402
                    load_checkpoint, save_checkpoint, seed_all, setup_threads, step_rng, write_json)

NS, NC, NB, NK = len(S.SHAPES), len(S.COLOUR_NAMES), len(S.BG_NAMES), S.MAX_OBJECTS + 1
NR, NZ = len(S.POSITION_NAMES), len(S.SIZES)
FLIP_REGIONS = [S.POSITION_NAMES.index(p) for p in ("right", "left", "top", "bottom", "centre")]
OUTPUTS = ["region_shape_logits", "region_colour_logits", "region_size_logits", "background_logits"]


class SceneClassifier(nn.Module):
    """image [N,3,128,128] in [0,1] -> per-region shape (0 = empty, 1 + shape), colour, size; background."""

    def __init__(self, width=(32, 64, 128, 128), hidden: int = 256):
        super().__init__()
        layers, c = [], 3
        for w in width:
            layers += [nn.Conv2d(c, w, 3, 2, 1), nn.LeakyReLU(0.1), nn.Conv2d(w, w, 3, 1, 1), nn.LeakyReLU(0.1)]
            c = w
        self.features = nn.Sequential(*layers)
        side = 128 >> len(width)
        self.fc = nn.Linear(c * side * side, hidden)        # flattened 8x8 map: position-aware
        self.out = nn.Linear(hidden, NR * (NS + 1) + NR * NC + NR * NZ + NB)

    def forward(self, x):
        f = self.features(x * 2.0 - 1.0)
        f = f.permute(0, 2, 3, 1).reshape(f.shape[0], -1)
        o = self.out(F.leaky_relu(self.fc(f), 0.1)).float()
        a, b, c = NR * (NS + 1), NR * (NS + 1) + NR * NC, NR * (NS + 1) + NR * NC + NR * NZ
        return (o[:, :a].reshape(-1, NR, NS + 1), o[:, a:b].reshape(-1, NR, NC), o[:, b:c].reshape(-1, NR, NZ),
                o[:, c:])


def region_labels(descs) -> Dict[str, np.ndarray]:
    """shape [N,5] (0 empty, 1 + shape index), colour [N,5], size [N,5] (0 where empty), background [N]."""
    n = len(descs)
    out = {"shape": np.zeros((n, NR), np.int64), "colour": np.zeros((n, NR), np.int64),
           "size": np.zeros((n, NR), np.int64), "background": np.zeros(n, np.int64)}
    for i, d in enumerate(descs):
        for o in d["objects"]:
            r = S.POSITION_NAMES.index(o["position"])
            out["shape"][i, r] = 1 + S.SHAPES.index(o["shape"])
            out["colour"][i, r] = S.COLOUR_NAMES.index(o["colour"])
            out["size"][i, r] = S.SIZES.index(o["size"])
        out["background"][i] = S.BG_NAMES.index(d["background"]["colour"])
    return out


def derived(reg: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Region labels/predictions -> the attributes of scenes.ATTR_SPEC (counts, pair presence)."""
    n = len(reg["shape"])
    sc = np.zeros((n, NS), np.int64)
    cc = np.zeros((n, NC), np.int64)
    pp = np.zeros((n, NS, NC), np.int64)
    for r in range(NR):
        occ = reg["shape"][:, r] > 0
        s = np.maximum(reg["shape"][:, r] - 1, 0)
        c = reg["colour"][:, r]
        rows = np.flatnonzero(occ)
        np.add.at(sc, (rows, s[rows]), 1)
        np.add.at(cc, (rows, c[rows]), 1)
        pp[rows, s[rows], c[rows]] = 1
    return {"shape_count": sc, "colour_count": cc, "pair_present": pp}


def losses(out, y):
    sh, co, si, bg = out
    occ = (y["shape"] > 0).float().reshape(-1)
    obj = (F.cross_entropy(co.reshape(-1, NC), y["colour"].reshape(-1), reduction="none")
           + F.cross_entropy(si.reshape(-1, NZ), y["size"].reshape(-1), reduction="none"))
    return (F.cross_entropy(sh.reshape(-1, NS + 1), y["shape"].reshape(-1)) + (obj * occ).sum() / occ.sum().clamp(min=1)
            + F.cross_entropy(bg, y["background"]))


@torch.no_grad()
def predict(model, imgs_u8: np.ndarray, batch: int = 64, bf16: bool = False) -> Dict[str, np.ndarray]:
    model.eval()
    outs = {"shape": [], "colour": [], "size": [], "background": []}
    for i in range(0, len(imgs_u8), batch):
        x = torch.from_numpy(imgs_u8[i:i + batch]).permute(0, 3, 1, 2).float().div(255.0)
        x = x.contiguous(memory_format=torch.channels_last)
        with autocast_ctx(torch.device("cpu"), bf16):
            o = model(x)
        for k, v in zip(outs, o):
            outs[k].append(v.argmax(-1).numpy())
    model.train()
    return {k: np.concatenate(v) for k, v in outs.items()}


def score(pred: Dict[str, np.ndarray], y: Dict[str, np.ndarray]) -> Dict[str, float]:
    """Per-region and derived accuracies (``pair_recall``: share of the scene's (shape, colour) objects found)."""
    occ = y["shape"] > 0
    obj_ok = (pred["shape"] == y["shape"]) & (pred["colour"] == y["colour"]) & (pred["size"] == y["size"])
    dp, dy = derived(pred), derived(y)
    pp, yp = dp["pair_present"], dy["pair_present"]
    return {
        "region_shape_acc": float((pred["shape"] == y["shape"]).mean()),
        "object_shape_acc": float((pred["shape"] == y["shape"])[occ].mean()),
        "object_colour_acc": float((pred["colour"] == y["colour"])[occ].mean()),
        "object_size_acc": float((pred["size"] == y["size"])[occ].mean()),
        "object_all_acc": float(obj_ok[occ].mean()),
        "scene_exact_acc": float(((pred["shape"] == y["shape"]) & (~occ | obj_ok)).all(1).mean()),
        "shape_count_acc": float((dp["shape_count"] == dy["shape_count"]).mean()),
        "colour_count_acc": float((dp["colour_count"] == dy["colour_count"]).mean()),
        "pair_recall": float((pp * yp).sum() / max(1, yp.sum())),
        "pair_precision": float((pp * yp).sum() / max(1, pp.sum())),
        "background_acc": float((pred["background"] == y["background"]).mean()),
    }


def decode_grids(grids: np.ndarray, ckpt: Path, chunk: int = 64, log=print) -> np.ndarray:
    """Tokenizer reconstruction (fp32) of int grids [N,16,16] -> uint8 [N,128,128,3]."""
    from export_tokenizer import load_tokenizer
    tok = load_tokenizer(ckpt).eval()
    out = np.empty((len(grids), 128, 128, 3), np.uint8)
    t0 = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(grids), chunk):
            ids = torch.from_numpy(grids[i:i + chunk].astype(np.int64))
            img = tok.decode(ids).clamp(0, 1)
            out[i:i + chunk] = (img.permute(0, 2, 3, 1).numpy() * 255.0 + 0.5).astype(np.uint8)
    log(f"decoded {len(grids)} grids in {time.perf_counter() - t0:.0f}s")
    return out


def render(split: str, n: int):
    imgs, descs = S.render_batch(S.SPLIT_SEEDS[split], 0, n)
    return imgs, descs


def export_onnx(model: SceneClassifier, out_dir: Path, log=print) -> Dict:
    from export_entropy import OPSET, _export, check_onnx, sha256
    from export_cloud import verify_runtime
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "scene_classifier.onnx"
    m = model.eval().float()
    names = OUTPUTS
    _export(m, (torch.rand(2, 3, 128, 128),), path, ["image"], names,
            {"image": {0: "batch"}, **{n: {0: "batch"} for n in names}},
            {"region_shape_logits": ["batch", NR, NS + 1], "region_colour_logits": ["batch", NR, NC],
             "region_size_logits": ["batch", NR, NZ], "background_logits": ["batch", NB]})
    chk = check_onnx(path)
    x = np.random.default_rng(0).random((2, 3, 128, 128)).astype(np.float32)
    with torch.no_grad():
        ref = m(torch.from_numpy(x))
    checks = verify_runtime([{"model": path, "inputs": {"image": x},
                              "outputs": {n: r.numpy() for n, r in zip(names, ref)}}], out_dir / "verify_fixture")
    info = {"opset": OPSET, "file": path.name, "bytes": path.stat().st_size, "sha256": sha256(path), **chk,
            "checks": checks,
            "classes": {"regions": list(S.POSITION_NAMES), "region_shape": ["empty"] + list(S.SHAPES),
                        "colours": list(S.COLOUR_NAMES), "sizes": list(S.SIZES), "backgrounds": list(S.BG_NAMES)},
            "note": "argmax per region; colour and size are meaningful only where region_shape != empty. Counts "
                    "and (shape, colour) presence follow from the occupied regions (scene_classifier.derived)"}
    write_json(out_dir / "export.json", info)
    log(f"exported {path} ({path.stat().st_size / 1e6:.2f} MB); checks {checks}")
    model.train()
    return info


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="run.py scene-classifier", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", type=Path, default=None, help="default RUNS/scene-classifier")
    p.add_argument("--scenes-dir", type=Path, default=None, help="default RUNS/scenes (token grids to decode)")
    p.add_argument("--tokenizer", type=Path, default=None, help="default RUNS/tokenizer/best.pt")
    p.add_argument("--train-n", type=int, default=8000, help="training renders held in memory")
    p.add_argument("--recon-frac", type=float, default=0.5, help="share of them replaced by reconstructions")
    p.add_argument("--test-n", type=int, default=1000)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--wd", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--max-minutes", type=float, default=0.0)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True)
    args = p.parse_args(argv)
    run_dir = (args.run_dir or default_run_dir("scene-classifier")).expanduser().resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    log = Logger(run_dir)
    setup_threads(args.threads)
    seed_all(args.seed)
    dev = torch.device("cpu")
    scenes_dir = (args.scenes_dir or default_run_dir("scenes")).expanduser().resolve()
    tok_ckpt = (args.tokenizer or default_run_dir("tokenizer") / "best.pt").expanduser().resolve()

    t0 = time.perf_counter()
    tr_imgs, tr_desc = render("train", args.train_n)
    te_imgs, te_desc = render("test", args.test_n)
    log(f"rendered {args.train_n} training + {args.test_n} test scenes in {time.perf_counter() - t0:.0f}s")
    y_tr, y_te = region_labels(tr_desc), region_labels(te_desc)
    te_recon = None
    n_rec = int(round(args.recon_frac * args.train_n))
    if tok_ckpt.exists() and (scenes_dir / "scenes_train.npy").exists():
        g = np.load(scenes_dir / "scenes_train.npy", mmap_mode="r")
        n_rec = min(n_rec, len(g))
        if n_rec:
            # the cached grids are scenes 0..N-1 of the same split seed: image i <-> grid i
            idx = np.arange(n_rec)
            tr_imgs[idx] = decode_grids(np.asarray(g[idx]), tok_ckpt, log=log)
            n_rec = len(idx)
        gt = np.load(scenes_dir / "scenes_test.npy")[:args.test_n]
        if len(gt) == args.test_n:
            te_recon = decode_grids(gt, tok_ckpt, log=log)
    else:
        n_rec = 0
        log("note: no tokenizer/scene grids: training on raw renders only, no reconstruction evaluation")
    log(f"training set: {args.train_n - n_rec} renders + {n_rec} reconstructions")

    model = SceneClassifier().to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.wd)
    ckpt_path = run_dir / "ckpt.pt"
    state = load_checkpoint(ckpt_path) if args.resume else None
    step, train_seconds = 0, 0.0
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, train_seconds = int(state["step"]), float(state.get("train_seconds", 0.0))
        log(f"resumed at step {step}")
    log(f"model {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M params; env {env_info()}; args {vars(args)}")

    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))
    signal.signal(signal.SIGINT, lambda *_: stop.update(flag=True))

    def lr_at(s):
        if s < args.warmup:
            return args.lr * (s + 1) / args.warmup
        t = min(1.0, (s - args.warmup) / max(1, args.steps - args.warmup))
        return args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t)))

    def evaluate():
        res = {"test_renders": score(predict(model, te_imgs), y_te)}
        shuf = np.roll(np.arange(len(te_imgs)), 1)
        res["shuffled_baseline_renders"] = score(predict(model, te_imgs[shuf]), y_te)
        if te_recon is not None:
            res["test_reconstructions"] = score(predict(model, te_recon), y_te)
        return res

    prog = Progress(args.steps, step, args.batch)
    start = time.perf_counter()
    win, nwin = 0.0, 0
    while step < args.steps and not stop["flag"]:
        ts = time.perf_counter()
        rng = step_rng(args.seed, step)
        idx = rng.integers(len(tr_imgs), size=args.batch)
        x = torch.from_numpy(tr_imgs[idx]).permute(0, 3, 1, 2).float().div(255.0)
        flip = rng.random(args.batch) < 0.5
        x = torch.where(torch.from_numpy(flip)[:, None, None, None], x.flip(3), x)
        x = x.contiguous(memory_format=torch.channels_last)
        y = {}
        for k, v in y_tr.items():
            v = v[idx]
            if v.ndim == 2:         # a mirrored scene swaps its left and right regions
                v = np.where(flip[:, None], v[:, FLIP_REGIONS], v)
            y[k] = torch.from_numpy(v)
        for g_ in opt.param_groups:
            g_["lr"] = lr_at(step)
        with autocast_ctx(dev, args.bf16):
            loss = losses(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        train_seconds += time.perf_counter() - ts
        prog.update(step)
        win += float(loss)
        nwin += 1
        if step % args.log_every == 0 or step == args.steps:
            log(f"{prog.line(step)} loss {win / nwin:.4f} lr {lr_at(step - 1):.2e}")
            win, nwin = 0.0, 0
        if step % args.eval_every == 0 and step < args.steps:
            r = evaluate()
            log(f"eval step {step}: renders {r['test_renders']}; reconstructions {r.get('test_reconstructions')}")
        if args.max_minutes and time.perf_counter() - start > args.max_minutes * 60:
            log(f"--max-minutes {args.max_minutes} reached")
            break
    save_checkpoint(ckpt_path, {"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                                "train_seconds": train_seconds})
    if step < args.steps:
        log(f"checkpoint at step {step}; run the same command again to resume")
        return 0
    res = evaluate()
    res.update({"step": step, "train_seconds": train_seconds, "train_n": args.train_n, "recon_n": n_rec,
                "test_n": args.test_n, "test_split_seed": S.SPLIT_SEEDS["test"],
                "note": "shuffled_baseline = predictions on a different test scene's image scored against this "
                        "scene's attributes: the chance level of text-to-image attribute accuracy"})
    write_json(run_dir / "eval.json", res)
    save_checkpoint(run_dir / "model.pt", {"model": model.state_dict(), "step": step, "eval": res})
    log(f"test renders: {res['test_renders']}")
    log(f"test reconstructions: {res.get('test_reconstructions')}")
    log(f"shuffled baseline: {res['shuffled_baseline_renders']}")
    res["onnx"] = export_onnx(model, run_dir / "onnx", log)
    write_json(run_dir / "eval.json", res)
    log(f"done in {fmt_duration(time.perf_counter() - start)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
