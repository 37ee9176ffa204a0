"""Evaluate the tokenizer on Kodak (evaluation only: never used for training or tuning).

    /usr/bin/python3 training/run.py eval-tokenizer [--ckpt RUN/tokenizer.pt] [--kodak DIR] [--limit N]

Method (all resizing with PIL's BOX filter = exact area averaging, since the factors are integers):

* ``kodak128`` (primary, the shipped 16x16 grid): each 768x512 image (512x768 portrait) is downscaled by
  4 to 192x128 (128x192) and the central 128x128 square is cropped. One 128x128 image per Kodak image.
* ``kodak_x2_tiles`` (whole image): each image is downscaled by 2 to 384x256 (256x384) and cut into six
  non-overlapping 128x128 tiles, each tokenized on its own (6 x 256 tokens); the tiles are stitched back
  and scored as one 384x256 image.

Metrics: reconstructions are rounded to 8 bits; PSNR on RGB with peak 255 (per image, then averaged over
images; ``psnr_of_mean_mse`` also given); MS-SSIM with 3 scales (11x11 Gaussian window, sigma 1.5,
K1=0.01, K2=0.03, weights = the first three standard weights 0.0448/0.2856/0.3001 renormalised to sum 1,
computed per RGB channel on 0-255 values and averaged over channels; 3 scales because a 128 px image
halved 4 times is smaller than the 11 px window). Token statistics per set: codes used (of 8192) and the
plug-in unigram entropy in bits (biased low for small samples: 6,144 tokens in kodak128, 36,864 in the
tiles). The model runs in fp32 (as exported) unless ``--bf16``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_DATA_ROOT, autocast_ctx, default_run_dir, psnr_from_mse, setup_threads, write_json  # noqa: E402
from data import list_images, load_rgb, to_tensor_u8  # noqa: E402
from tokenizer import Tokenizer, TokenizerConfig  # noqa: E402

MSSSIM_WEIGHTS_5 = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _gauss_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def _filter(x: torch.Tensor, win: torch.Tensor) -> torch.Tensor:
    c = x.shape[1]
    kh = win.view(1, 1, -1, 1).repeat(c, 1, 1, 1).to(x)
    kw = win.view(1, 1, 1, -1).repeat(c, 1, 1, 1).to(x)
    return F.conv2d(F.conv2d(x, kh, groups=c), kw, groups=c)  # "valid" filtering, as in the reference code


def _ssim_cs(x, y, win, data_range):
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = _filter(x, win), _filter(y, win)
    sxx = _filter(x * x, win) - mu_x ** 2
    syy = _filter(y * y, win) - mu_y ** 2
    sxy = _filter(x * y, win) - mu_x * mu_y
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    lum = (2 * mu_x * mu_y + c1) / (mu_x ** 2 + mu_y ** 2 + c1)
    return (lum * cs).flatten(2).mean(-1), cs.flatten(2).mean(-1)  # [N,C] each


def ms_ssim(x: torch.Tensor, y: torch.Tensor, scales: int = 3, data_range: float = 255.0) -> torch.Tensor:
    """x, y: [N,C,H,W] in [0,data_range]. Returns [N] (mean over channels)."""
    w = torch.tensor(MSSSIM_WEIGHTS_5[:scales], dtype=torch.float64)
    w = w / w.sum()
    win = _gauss_window()
    x, y = x.double(), y.double()
    mcs = []
    for i in range(scales):
        ssim, cs = _ssim_cs(x, y, win, data_range)
        if i < scales - 1:
            mcs.append(torch.relu(cs))
            x = F.avg_pool2d(x, 2, ceil_mode=False)
            y = F.avg_pool2d(y, 2, ceil_mode=False)
    vals = torch.stack(mcs + [torch.relu(ssim)], dim=0)  # [S,N,C]
    return torch.prod(vals ** w.view(-1, 1, 1), dim=0).mean(-1).float()


def kodak_sets(files: List[Path]):
    """Returns (crops128 uint8 [K,3,128,128], tiles uint8 [K*6,3,128,128], tile layouts)."""
    crops, tiles, layouts = [], [], []
    for p in files:
        im = load_rgb(p)
        w, h = im.size
        small = im.resize((w // 4, h // 4), Image.BOX)
        sw, sh = small.size
        l, t = (sw - 128) // 2, (sh - 128) // 2
        crops.append(small.crop((l, t, l + 128, t + 128)))
        half = im.resize((w // 2, h // 2), Image.BOX)
        hw, hh = half.size
        cols, rows = hw // 128, hh // 128
        layouts.append((rows, cols))
        for r in range(rows):
            for c in range(cols):
                tiles.append(half.crop((c * 128, r * 128, c * 128 + 128, r * 128 + 128)))
    return to_tensor_u8(crops), to_tensor_u8(tiles), layouts


@torch.no_grad()
def _roundtrip(model: Tokenizer, x_u8: torch.Tensor, bf16: bool, chunk: int = 16):
    outs, ids = [], []
    dev = torch.device("cpu")
    for i in range(0, len(x_u8), chunk):
        x = x_u8[i:i + chunk].float() / 255.0
        with autocast_ctx(dev, bf16):
            t = model.encode(x)
            y = model.decode(t)
        outs.append((y.float() * 255.0).round().clamp(0, 255))
        ids.append(t)
    return torch.cat(outs), torch.cat(ids)


def _token_stats(ids: torch.Tensor, k: int) -> Dict:
    counts = torch.bincount(ids.reshape(-1), minlength=k).double()
    p = counts[counts > 0] / counts.sum()
    used = int((counts > 0).sum())
    return {"tokens": int(counts.sum()), "codes_used": used, "usage_pct": 100.0 * used / k,
            "unigram_entropy_bits": float(-(p * p.log2()).sum())}


def evaluate(model: Tokenizer, kodak: Path, limit: int = 0, bf16: bool = False) -> Dict:
    files = [p for p in list_images(kodak) if p.stem.startswith("kodim")] or list_images(kodak)
    if limit:
        files = files[:limit]
    if not files:
        raise SystemExit(f"no Kodak images in {kodak}")
    k = model.fsq.codebook_size
    crops, tiles, layouts = kodak_sets(files)

    rec_c, ids_c = _roundtrip(model, crops, bf16)
    ref_c = crops.float()
    mse_c = (rec_c - ref_c).pow(2).flatten(1).mean(1)
    ms_c = ms_ssim(ref_c, rec_c)

    rec_t, ids_t = _roundtrip(model, tiles, bf16)
    per_image, i0 = [], 0
    full_mse, full_ms = [], []
    for (rows, cols) in layouts:
        n = rows * cols

        def stitch(t):
            t = t[i0:i0 + n].view(rows, cols, 3, 128, 128)
            return t.permute(2, 0, 3, 1, 4).reshape(1, 3, rows * 128, cols * 128)
        a, b = stitch(tiles.float()), stitch(rec_t)
        full_mse.append(float((a - b).pow(2).mean()))
        full_ms.append(float(ms_ssim(a, b)[0]))
        i0 += n
    for j, p in enumerate(files):
        per_image.append({"image": p.name,
                          "kodak128_psnr": psnr_from_mse(float(mse_c[j]), 255.0), "kodak128_msssim": float(ms_c[j]),
                          "x2_tiles_psnr": psnr_from_mse(full_mse[j], 255.0), "x2_tiles_msssim": full_ms[j]})

    def agg(mses, mss, ids, n_img):
        psnrs = [psnr_from_mse(m, 255.0) for m in mses]
        return {"images": n_img, "psnr_db": float(np.mean(psnrs)),
                "psnr_of_mean_mse_db": psnr_from_mse(float(np.mean(mses)), 255.0),
                "msssim": float(np.mean(mss)), **_token_stats(ids, k)}

    res = {
        "method": {
            "kodak128": "BOX downscale x4 (768x512 -> 192x128), center crop 128x128, one 16x16 token grid",
            "kodak_x2_tiles": "BOX downscale x2 (768x512 -> 384x256), 6 non-overlapping 128x128 tiles "
                              "tokenized separately, stitched and scored as one image",
            "psnr": "RGB, 8-bit reconstructions, peak 255, mean of per-image PSNR",
            "msssim": "3 scales, 11x11 Gaussian sigma 1.5, weights (0.0448,0.2856,0.3001)/sum, per RGB channel, "
                      "data range 255",
            "precision": "bf16 autocast" if bf16 else "fp32",
        },
        "kodak128": agg([float(m) for m in mse_c], [float(v) for v in ms_c], ids_c, len(files)),
        "kodak_x2_tiles": agg(full_mse, full_ms, ids_t, len(files)),
        "per_image": per_image,
    }
    a, b = res["kodak128"], res["kodak_x2_tiles"]
    res["summary_line"] = (f"kodak128 PSNR {a['psnr_db']:.2f} dB MS-SSIM {a['msssim']:.4f} codes "
                           f"{a['usage_pct']:.1f}% H {a['unigram_entropy_bits']:.2f} b | x2 tiles PSNR "
                           f"{b['psnr_db']:.2f} dB MS-SSIM {b['msssim']:.4f} codes {b['usage_pct']:.1f}% "
                           f"H {b['unigram_entropy_bits']:.2f} b ({len(files)} images)")
    res["_recon_kodak128"] = rec_c
    res["_orig_kodak128"] = crops
    return res


def evaluate_checkpoint(ckpt: Path, kodak: Path, out_json: Path, limit: int = 0, threads: int = 2,
                        bf16: bool = False, log=print) -> Dict:
    setup_threads(threads)
    state = torch.load(ckpt, map_location="cpu")
    model = Tokenizer(TokenizerConfig.from_dict(state["config"]))
    model.load_state_dict(state["model"])
    model.eval().float()
    res = evaluate(model, kodak, limit=limit, bf16=bf16)
    rec, orig = res.pop("_recon_kodak128"), res.pop("_orig_kodak128")
    res["checkpoint"] = str(ckpt)
    res["step"] = state.get("step")
    write_json(out_json, res)
    # contact sheet: originals (top) vs reconstructions (bottom), up to 8 images
    n = min(8, len(orig))
    sheet = torch.cat([torch.cat(list(orig[:n].float()), 2), torch.cat(list(rec[:n]), 2)], 1)
    Image.fromarray(sheet.permute(1, 2, 0).byte().numpy()).save(out_json.with_suffix(".png"))
    log(f"wrote {out_json}")
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="run.py eval-tokenizer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", type=Path, default=None)
    p.add_argument("--ckpt", type=Path, default=None, help="default <run-dir>/tokenizer.pt")
    p.add_argument("--kodak", type=Path, default=DEFAULT_DATA_ROOT / "kodak")
    p.add_argument("--out", type=Path, default=None, help="default <run-dir>/eval_kodak.json")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bf16", action="store_true")
    args = p.parse_args(argv)
    run_dir = (args.run_dir or default_run_dir("tokenizer")).expanduser()
    res = evaluate_checkpoint(args.ckpt or run_dir / "tokenizer.pt", args.kodak,
                              args.out or run_dir / "eval_kodak.json", args.limit, args.threads, args.bf16)
    print(res["summary_line"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
