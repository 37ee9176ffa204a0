"""Optional: compare the exported ONNX tokenizer with PyTorch in onnxruntime (Python).

    <python with torch + onnxruntime> training/verify_onnx.py [--run-dir RUN] [--images 4]

Debian has no python3-onnxruntime; a venv made with ``--system-site-packages`` (so it sees Debian's
torch and onnx) plus ``pip install onnxruntime`` works. Checks: encoder tokens equal PyTorch's
(fp32) on Kodak crops, decoder output max |diff|, and dynamic shapes (a 384x256 input -> 48x32 grid).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_DATA_ROOT, default_run_dir  # noqa: E402
from data import list_images  # noqa: E402
from eval_tokenizer import kodak_sets  # noqa: E402
from export_tokenizer import load_tokenizer  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", type=Path, default=None)
    p.add_argument("--kodak", type=Path, default=DEFAULT_DATA_ROOT / "kodak")
    p.add_argument("--images", type=int, default=4)
    args = p.parse_args(argv)
    import onnxruntime as ort
    rd = (args.run_dir or default_run_dir("tokenizer")).expanduser()
    torch.set_num_threads(1)
    model = load_tokenizer(rd / "tokenizer.pt")
    crops, _, _ = kodak_sets(list_images(args.kodak)[:args.images])
    x = crops.float() / 255
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    enc = ort.InferenceSession(str(rd / "onnx/encoder.onnx"), so, providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(str(rd / "onnx/decoder.onnx"), so, providers=["CPUExecutionProvider"])
    t_onnx = enc.run(None, {"image": x.numpy()})[0]
    with torch.no_grad():
        t_torch = model.encode(x).numpy()
        y_torch = model.decode(torch.from_numpy(t_torch)).numpy()
    y_onnx = dec.run(None, {"tokens": t_torch.astype(np.int32)})[0]
    mism = int((t_onnx != t_torch).sum())
    diff = float(np.abs(y_onnx - y_torch).max())
    print(f"onnxruntime {ort.__version__}: tokens {t_onnx.dtype}{list(t_onnx.shape)} mismatches {mism}/{t_torch.size}; "
          f"decoder {y_onnx.dtype}{list(y_onnx.shape)} max |onnx - torch| {diff:.2e}")
    x2 = np.random.default_rng(0).random((1, 3, 256, 384), dtype=np.float32)
    t2 = enc.run(None, {"image": x2})[0]
    y2 = dec.run(None, {"tokens": t2})[0]
    print(f"dynamic shapes: image [1,3,256,384] -> tokens {list(t2.shape)} -> image {list(y2.shape)}")
    return 0 if diff < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
