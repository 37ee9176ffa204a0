"""Tokenize the training and evaluation images into 16x16 token grids (stage ``tokens``).

    /usr/bin/python3 training/run.py tokens [--ckpt RUNS/tokenizer/best.pt] [--crops-per-photo 1000] ...

Everything is cached as ``.npy`` in ``${UNIMIC_RUNS:-~/.cache/unimic/runs}/tokens`` (``--run-dir``):

| file | what |
|---|---|
| ``photos_train.npy`` | int16 [N,16,16]: ``--crops-per-photo`` random crops of every training photo |
| ``photos_val.npy`` | int16 [M,16,16]: ``--val-per-photo`` fixed crops of each held-out photo (041-044) |
| ``kodak128.npy`` | int16 [24,16,16]: Kodak, box /4, centre 128x128 (as ``eval_tokenizer.py``); evaluation only |
| ``kodak_tiles.npy`` | int16 [144,16,16]: Kodak, box /2, six 128x128 tiles each; evaluation only |
| ``captions_train.npy`` | int16 [K,16,16]: ``--caption-variants`` crops of every training caption image |
| ``captions_train_image.npy`` | int32 [K]: index of the image (into ``captions_train_text.npy``) of each grid |
| ``captions_train_text.npy`` | int16 [I,5,T]: compact caption ids of the 5 captions per image (0 = PAD) |
| ``captions_val.npy`` / ``_image`` / ``_text`` | the held-out 10% of caption images, centre crop only |
| ``caption_vocab.json`` | the compact caption vocabulary (see below) |
| ``meta.json`` | tokenizer checkpoint (path, sha256, step), counts, seeds, durations |

Photo crops follow ``data.py``: photo stems ``041``-``044`` are held out; a training crop picks a
downscale factor log-uniform in ``[1, min(8, short side / 128)]``, a random square, an antialiased
filter at random (box, bilinear, bicubic) and a horizontal flip with p=0.5, from a generator seeded
by ``(seed, photo index)``, so the cache is reproducible. Caption images (``captions.txt``: CSV
``image,caption``): the short side is resized to 128 (bicubic, antialiased) and the centre 128x128
cropped; training images also get ``--caption-variants - 1`` random variants (short side 128-160,
random crop, flip p=0.5). 10% of the images (a fixed permutation of the sorted names, seed 0) are
held out.

Caption text: GPT-2 BPE (r50k) ids from the protocol's own ``bpeEncode`` (``packages/protocol``,
gpt-tokenizer), run through ``npx tsx`` so that the ids match the TypeScript side exactly (there is
no tiktoken for Debian's Python). The ids are remapped to a compact vocabulary: 0 = PAD, 1 = UNK,
``2 + i`` = the i-th of the BPE ids seen in the training captions, sorted (``caption_vocab.json``
``bpe_ids``); captions are truncated to ``--text-len`` (32) ids. Caption images are tokenized fp32.

The tokenizer runs in fp32 (as exported to ONNX) unless ``--bf16`` (1.5% of tokens differ).
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (DEFAULT_DATA_ROOT, REPO_ROOT, Logger, autocast_ctx, default_run_dir, fmt_duration,  # noqa: E402
                    setup_threads, write_json)
from data import DEFAULT_HOLDOUT, _crop, fixed_val_crops, load_rgb, split_photos, to_tensor_u8, u8_to_float  # noqa: E402

TEXT_PAD, TEXT_UNK, TEXT_FIRST = 0, 1, 2
BPE_NAME = "gpt2-r50k"

_TS_BPE = r"""
import { bpeEncode } from './packages/protocol/src/text/bpe.ts';
import { readFileSync } from 'node:fs';
const texts = JSON.parse(readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(texts.map((t) => Array.from(bpeEncode(t)))));
"""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def bpe_encode_ts(texts: Sequence[str]) -> List[List[int]]:
    """GPT-2 r50k ids from the protocol's ``bpeEncode`` via ``npx tsx`` (needs node_modules)."""
    proc = subprocess.run(["npx", "--no-install", "tsx", "-e", _TS_BPE], cwd=REPO_ROOT, input=json.dumps(list(texts)),
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"npx tsx bpeEncode failed: {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout)
    assert len(out) == len(texts)
    return out


def build_caption_vocab(train_ids: Sequence[Sequence[int]]) -> Dict:
    seen = sorted({int(i) for ids in train_ids for i in ids})
    return {"bpe": BPE_NAME, "pad": TEXT_PAD, "unk": TEXT_UNK, "first": TEXT_FIRST, "size": TEXT_FIRST + len(seen),
            "bpe_ids": seen,
            "rule": "compact id = 0 PAD (fills unused positions), 1 UNK (BPE id not in bpe_ids), "
                    "2 + index of the BPE id in bpe_ids (sorted)"}


def compact_ids(ids: Sequence[int], vocab: Dict, text_len: int) -> np.ndarray:
    lut = {b: TEXT_FIRST + i for i, b in enumerate(vocab["bpe_ids"])}
    out = np.full(text_len, TEXT_PAD, dtype=np.int16)
    for k, b in enumerate(list(ids)[:text_len]):
        out[k] = lut.get(int(b), TEXT_UNK)
    return out


def load_tokenizer_ckpt(path: Path):
    from export_tokenizer import load_tokenizer
    return load_tokenizer(path)


@torch.no_grad()
def encode_u8(model, x_u8: torch.Tensor, bf16: bool, chunk: int = 64) -> np.ndarray:
    out = []
    dev = torch.device("cpu")
    for i in range(0, len(x_u8), chunk):
        x = u8_to_float(x_u8[i:i + chunk]).contiguous(memory_format=torch.channels_last)
        with autocast_ctx(dev, bf16):
            ids = model.encode(x)
        out.append(ids.to(torch.int16).numpy())
    return np.concatenate(out) if out else np.zeros((0, 16, 16), np.int16)


def resize_short_center(im: Image.Image, size: int = 128) -> Image.Image:
    w, h = im.size
    s = size / min(w, h)
    nw, nh = max(size, round(w * s)), max(size, round(h * s))
    im = im.resize((nw, nh), Image.BICUBIC)
    l, t = (nw - size) // 2, (nh - size) // 2
    return im.crop((l, t, l + size, t + size))


def caption_variant(im: Image.Image, rng: np.random.Generator, size: int = 128, max_up: float = 1.25) -> Image.Image:
    w, h = im.size
    short = size * math.exp(rng.uniform(0.0, math.log(max_up)))
    s = short / min(w, h)
    nw, nh = max(size, round(w * s)), max(size, round(h * s))
    im = im.resize((nw, nh), Image.BICUBIC)
    l = int(rng.integers(0, nw - size + 1))
    t = int(rng.integers(0, nh - size + 1))
    out = im.crop((l, t, l + size, t + size))
    if rng.random() < 0.5:
        out = out.transpose(Image.FLIP_LEFT_RIGHT)
    return out


def split_caption_images(names: Sequence[str], frac: float = 0.1, seed: int = 0):
    names = sorted(names)
    perm = np.random.default_rng(seed).permutation(len(names))
    n_val = int(round(frac * len(names)))
    val = sorted(names[i] for i in perm[:n_val])
    train = sorted(names[i] for i in perm[n_val:])
    return train, val


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run.py tokens", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", type=Path, default=None, help="tokenizer checkpoint (default RUNS/tokenizer/best.pt)")
    p.add_argument("--run-dir", type=Path, default=None, help="default ${UNIMIC_RUNS:-~/.cache/unimic/runs}/tokens")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA_ROOT / "photos")
    p.add_argument("--holdout", default=",".join(DEFAULT_HOLDOUT))
    p.add_argument("--kodak", type=Path, default=DEFAULT_DATA_ROOT / "kodak")
    p.add_argument("--captions", type=Path, default=DEFAULT_DATA_ROOT / "captions" / "flickr8k-1k")
    p.add_argument("--crops-per-photo", type=int, default=1000)
    p.add_argument("--val-per-photo", type=int, default=64)
    p.add_argument("--caption-variants", type=int, default=8, help="grids per training caption image (1 = centre only)")
    p.add_argument("--caption-limit", type=int, default=0, help="use only the first N caption images (smoke tests)")
    p.add_argument("--caption-holdout", type=float, default=0.1)
    p.add_argument("--text-len", type=int, default=32)
    p.add_argument("--max-scale", type=float, default=8.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bf16", action="store_true", help="bf16 autocast for the photo training crops (faster, 1.5%% differ)")
    p.add_argument("--only", default="", help="comma list of parts to (re)do: photos,val,kodak,captions (default all)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    run_dir = (args.run_dir or default_run_dir("tokens")).expanduser().resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    log = Logger(run_dir, "tokens.log")
    setup_threads(args.threads)
    ckpt = (args.ckpt or default_run_dir("tokenizer") / "best.pt").expanduser().resolve()
    if not ckpt.exists():
        raise SystemExit(f"tokenizer checkpoint {ckpt} not found (train it first, or pass --ckpt)")
    model = load_tokenizer_ckpt(ckpt).to(memory_format=torch.channels_last)
    state = torch.load(ckpt, map_location="cpu")
    ck_sha = sha256_file(ckpt)
    log(f"tokenizer {ckpt} (step {state.get('step')}, sha256 {ck_sha[:16]}...) -> {run_dir}")
    parts = set(s for s in args.only.split(",") if s) or {"photos", "val", "kodak", "captions"}
    meta_path = run_dir / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() and args.only else {}
    if meta.get("tokenizer", {}).get("sha256") not in (None, ck_sha):
        log("warning: the cache already holds parts from another tokenizer checkpoint; redo all parts")
    meta["tokenizer"] = {"ckpt": str(ckpt), "sha256": ck_sha, "step": state.get("step"),
                         "config": state.get("config")}
    meta.setdefault("parts", {})
    t_all = time.perf_counter()

    holdout = [s.strip() for s in args.holdout.split(",") if s.strip()]
    train_files, val_files = split_photos(args.data, holdout)

    if "photos" in parts:
        t0 = time.perf_counter()
        chunks = []
        for k, path in enumerate(train_files):
            im = load_rgb(path)
            rng = np.random.default_rng([args.seed, 17, k])
            crops = [_crop(im, rng, 128, args.max_scale, True, True) for _ in range(args.crops_per_photo)]
            chunks.append(encode_u8(model, to_tensor_u8(crops), args.bf16))
            done = k + 1
            el = time.perf_counter() - t0
            log(f"photos {done}/{len(train_files)} ({path.name}) {done * args.crops_per_photo / el:.1f} img/s "
                f"eta {fmt_duration(el / done * (len(train_files) - done))}")
        arr = np.concatenate(chunks)
        np.save(run_dir / "photos_train.npy", arr)
        meta["parts"]["photos_train"] = {"n": int(len(arr)), "photos": [p.name for p in train_files],
                                         "crops_per_photo": args.crops_per_photo, "max_scale": args.max_scale,
                                         "bf16": bool(args.bf16), "seed": args.seed,
                                         "seconds": round(time.perf_counter() - t0, 1)}
        log(f"photos_train.npy {arr.shape} in {fmt_duration(time.perf_counter() - t0)}")

    if "val" in parts and val_files:
        crops = fixed_val_crops(val_files, per_image=args.val_per_photo, scales=(1.0, 1.5, 2.0, 3.0, 4.0, 6.0),
                                seed=4321)
        arr = encode_u8(model, crops, False)
        np.save(run_dir / "photos_val.npy", arr)
        meta["parts"]["photos_val"] = {"n": int(len(arr)), "photos": [p.name for p in val_files],
                                       "per_photo": args.val_per_photo, "scales": [1, 1.5, 2, 3, 4, 6],
                                       "filter": "box", "seed": 4321}
        log(f"photos_val.npy {arr.shape}")

    if "kodak" in parts and args.kodak.exists():
        from eval_tokenizer import kodak_sets
        from data import list_images
        files = list_images(args.kodak)
        crops, tiles, layouts = kodak_sets(files)
        a = encode_u8(model, crops, False)
        b = encode_u8(model, tiles, False)
        np.save(run_dir / "kodak128.npy", a)
        np.save(run_dir / "kodak_tiles.npy", b)
        meta["parts"]["kodak"] = {"kodak128": int(len(a)), "kodak_tiles": int(len(b)),
                                  "method": "as eval_tokenizer.py: box /4 + centre 128 crop; box /2 + 6 tiles"}
        log(f"kodak128.npy {a.shape}, kodak_tiles.npy {b.shape} (evaluation only)")

    if "captions" in parts and (args.captions / "captions.txt").exists():
        t0 = time.perf_counter()
        with open(args.captions / "captions.txt", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        by_image: Dict[str, List[str]] = {}
        for r in rows:
            by_image.setdefault(r["image"], []).append(r["caption"])
        names = sorted(by_image)
        if args.caption_limit:
            names = names[:args.caption_limit]
        train_names, val_names = split_caption_images(names, args.caption_holdout, seed=0)
        flat_texts = [c for n in train_names + val_names for c in by_image[n]]
        flat_ids = bpe_encode_ts(flat_texts)
        ids_by_image: Dict[str, List[List[int]]] = {}
        k = 0
        for n in train_names + val_names:
            m = len(by_image[n])
            ids_by_image[n] = flat_ids[k:k + m]
            k += m
        vocab = build_caption_vocab([ids for n in train_names for ids in ids_by_image[n]])
        write_json(run_dir / "caption_vocab.json", vocab)
        n_caps = max(len(v) for v in by_image.values())
        lens = [len(ids) for v in ids_by_image.values() for ids in v]
        for split, split_names, variants in (("train", train_names, args.caption_variants), ("val", val_names, 1)):
            text = np.zeros((len(split_names), n_caps, args.text_len), dtype=np.int16)
            images, owner = [], []
            for i, n in enumerate(split_names):
                for j, ids in enumerate(ids_by_image[n]):
                    text[i, j] = compact_ids(ids, vocab, args.text_len)
                im = load_rgb(args.captions / "images" / n)
                images.append(resize_short_center(im))
                owner.append(i)
                rng = np.random.default_rng([args.seed, 23, names.index(n)])
                for _ in range(variants - 1):
                    images.append(caption_variant(im, rng))
                    owner.append(i)
            grids = encode_u8(model, to_tensor_u8(images), False) if images else np.zeros((0, 16, 16), np.int16)
            np.save(run_dir / f"captions_{split}.npy", grids)
            np.save(run_dir / f"captions_{split}_image.npy", np.asarray(owner, dtype=np.int32))
            np.save(run_dir / f"captions_{split}_text.npy", text)
            unk = int((text == TEXT_UNK).sum())
            meta["parts"][f"captions_{split}"] = {"images": len(split_names), "grids": int(len(grids)),
                                                  "variants": variants, "unk_ids": unk, "names": split_names}
            log(f"captions_{split}.npy {grids.shape} from {len(split_names)} images; text {text.shape}, "
                f"{unk} UNK ids")
        meta["parts"]["caption_text"] = {"bpe": BPE_NAME, "vocab_size": vocab["size"], "text_len": args.text_len,
                                         "mean_len": float(np.mean(lens)), "max_len": int(max(lens)),
                                         "truncated": int(sum(l > args.text_len for l in lens)),
                                         "seconds": round(time.perf_counter() - t0, 1)}
        log(f"caption vocabulary {vocab['size']} (BPE ids seen in training captions + PAD/UNK); "
            f"captions {np.mean(lens):.1f} ids on average, max {max(lens)}")

    meta["seconds_last_invocation"] = round(time.perf_counter() - t_all, 1)
    write_json(meta_path, meta)
    log(f"tokens done in {fmt_duration(time.perf_counter() - t_all)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
