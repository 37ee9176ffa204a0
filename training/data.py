"""Image data for the tokenizer (and, later, the entropy models).

* Photos (``../shared/data/photos`` by default, ``--data`` to override) are decoded once into memory.
* Deterministic split by file name: ``041``-``044`` are held out for validation, the rest train.
* Training crops: pick a photo uniformly, pick a downscale factor ``s`` log-uniformly in
  ``[1, min(max_scale, short_side / crop)]``, take a random ``crop*s`` square region and resize it to
  ``crop x crop`` with an antialiased PIL filter (box, bilinear or bicubic at random). This is the
  same as downscaling the whole photo by ``s`` and cropping, without resizing the whole photo each time,
  so crops cover image content at several scales. Horizontal flip with p=0.5.
* Validation crops: a fixed set from the held-out photos at fixed scales (box filter), generated from a
  fixed seed, so held-out PSNR is comparable across runs and resumes.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np
import torch
from PIL import Image

DEFAULT_HOLDOUT = ("041", "042", "043", "044")
_FILTERS = (Image.BOX, Image.BILINEAR, Image.BICUBIC)


def list_images(folder: Path) -> List[Path]:
    exts = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".ppm"}
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in exts)


def split_photos(folder: Path, holdout: Sequence[str] = DEFAULT_HOLDOUT) -> Tuple[List[Path], List[Path]]:
    files = list_images(folder)
    hold = set(holdout)
    val = [p for p in files if p.stem in hold]
    train = [p for p in files if p.stem not in hold]
    if not train:
        raise SystemExit(f"no training images in {folder}")
    return train, val


def load_rgb(path: Path) -> Image.Image:
    im = Image.open(path)
    im = im.convert("RGB")
    im.load()
    return im


def to_tensor_u8(ims: Sequence[Image.Image]) -> torch.Tensor:
    """List of equally sized PIL RGB images -> uint8 tensor [N,3,H,W]."""
    arr = np.stack([np.asarray(im, dtype=np.uint8) for im in ims])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


def _crop(im: Image.Image, rng: np.random.Generator, crop: int, max_scale: float,
          flip: bool, random_filter: bool) -> Image.Image:
    w, h = im.size
    s_max = max(1.0, min(max_scale, min(w, h) / crop))
    s = math.exp(rng.uniform(0.0, math.log(s_max))) if s_max > 1.0 else 1.0
    side = crop * s
    x0 = rng.uniform(0.0, w - side)
    y0 = rng.uniform(0.0, h - side)
    if s <= 1.0 + 1e-6:
        xi, yi = int(x0), int(y0)
        out = im.crop((xi, yi, xi + crop, yi + crop))
    else:
        filt = _FILTERS[int(rng.integers(len(_FILTERS)))] if random_filter else Image.BOX
        out = im.resize((crop, crop), filt, box=(x0, y0, x0 + side, y0 + side))
    if flip and rng.random() < 0.5:
        out = out.transpose(Image.FLIP_LEFT_RIGHT)
    return out


class PhotoCrops:
    """Random multi-scale crops from photos held in memory."""

    def __init__(self, files: Sequence[Path], crop: int = 128, max_scale: float = 8.0,
                 flip: bool = True, random_filter: bool = True):
        self.files = list(files)
        self.images = [load_rgb(p) for p in self.files]
        self.crop = crop
        self.max_scale = max_scale
        self.flip = flip
        self.random_filter = random_filter

    def batch(self, rng: np.random.Generator, n: int) -> torch.Tensor:
        """uint8 [n,3,crop,crop]."""
        out = []
        for _ in range(n):
            im = self.images[int(rng.integers(len(self.images)))]
            out.append(_crop(im, rng, self.crop, self.max_scale, self.flip, self.random_filter))
        return to_tensor_u8(out)


def fixed_val_crops(files: Sequence[Path], crop: int = 128, per_image: int = 16,
                    scales: Sequence[float] = (1.0, 2.0, 4.0, 6.0), seed: int = 1234) -> torch.Tensor:
    """Deterministic held-out crops: ``per_image`` per photo, cycling through ``scales`` (box filter)."""
    rng = np.random.default_rng(seed)
    out = []
    for p in files:
        im = load_rgb(p)
        w, h = im.size
        for i in range(per_image):
            s = min(scales[i % len(scales)], min(w, h) / crop)
            side = crop * s
            x0 = float(rng.uniform(0.0, w - side))
            y0 = float(rng.uniform(0.0, h - side))
            out.append(im.resize((crop, crop), Image.BOX, box=(x0, y0, x0 + side, y0 + side)))
    return to_tensor_u8(out)


def u8_to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0,255] -> float32 [0,1]."""
    return x.float().div_(255.0)
