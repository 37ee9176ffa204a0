#!/usr/bin/env python3
"""Throughput of the entropy models here: training sequences/s (bf16, forward + backward + AdamW) and,
when onnxruntime is importable, CPU latency of the exported graphs.

    /usr/bin/python3 training/bench_entropy.py [--batch 32] [--steps 12] [--threads 2] [--onnx-dir DIR]

Random tokens (speed does not depend on the values). Prints one line per configuration and writes
nothing. Use an otherwise idle machine for figures worth quoting.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import autocast_ctx, setup_threads  # noqa: E402
from entropy_data import MaskedBatcher  # noqa: E402
from entropy_models import EntropyConfig, EntropyModel, count_params  # noqa: E402


def bench_train(kind: str, head: str, batch: int, steps: int, embed: str = "digits") -> float:
    cfg = EntropyConfig(kind=kind, head=head, embed=embed, text_vocab=3500 if kind == "text" else 0)
    model = EntropyModel(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    rng = np.random.default_rng(0)
    dev = torch.device("cpu")
    batcher = MaskedBatcher(cfg.mask_id)
    times = []
    for i in range(steps):
        grids = rng.integers(0, cfg.vocab, size=(batch, cfg.seq_len))
        t0 = time.perf_counter()
        if kind == "ar":
            inp, tm = grids, None
        else:
            inp, tm = batcher(grids, rng)
        x = torch.from_numpy(inp)
        y = torch.from_numpy(grids)
        txt = torch.randint(0, cfg.text_vocab, (batch, cfg.text_len)) if kind == "text" else None
        with autocast_ctx(dev, True):
            h = model.features(x, txt)
            if tm is None:
                loss = model.nll(h, y).mean()
            else:
                idx = torch.from_numpy(tm).reshape(-1).nonzero().squeeze(1)
                loss = model.nll(h.reshape(-1, h.shape[-1])[idx], y.reshape(-1)[idx]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    dt = float(np.median(times[2:]))
    print(f"train {kind:6s} head={head:6s} embed={embed:6s} {count_params(model) / 1e6:.2f} M params: "
          f"{batch / dt:.1f} seq/s (batch {batch}, {dt * 1000:.0f} ms/step)", flush=True)
    return batch / dt


def bench_onnx(onnx_dir: Path, threads: int) -> None:
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime not importable: ONNX latency skipped")
        return
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    rng = np.random.default_rng(0)
    for m in ("ar", "masked", "text"):
        bbp = onnx_dir / f"entropy_{m}_backbone.onnx"
        hdp = onnx_dir / f"entropy_{m}_head.onnx"
        if not bbp.exists():
            continue
        bb = ort.InferenceSession(str(bbp), so, providers=["CPUExecutionProvider"])
        hd = ort.InferenceSession(str(hdp), so, providers=["CPUExecutionProvider"])
        feeds = {"tokens": rng.integers(0, 8192, size=(1, 256)).astype(np.int32)}
        if m == "text":
            feeds["text"] = np.zeros((1, 32), np.int32)
        for _ in range(3):
            h = bb.run(["h"], feeds)[0]
        t0 = time.perf_counter()
        for _ in range(10):
            h = bb.run(["h"], feeds)[0]
        t_bb = (time.perf_counter() - t0) / 10
        line = f"onnxruntime {ort.__version__} {threads} thread(s) {m}: backbone {t_bb * 1000:.1f} ms"
        for P in (1, 32, 256):
            feeds_h = {"h": h[:, :P].copy()}
            if any(i.name == "digits" for i in hd.get_inputs()):
                feeds_h["digits"] = np.zeros((1, P, 5), np.int32)
            hd.run(None, feeds_h)
            t0 = time.perf_counter()
            for _ in range(20):
                hd.run(None, feeds_h)
            line += f", head P={P} {(time.perf_counter() - t0) / 20 * 1000:.2f} ms"
        print(line, flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--models", default="ar:digits,masked:digits,text:digits,masked:flat")
    p.add_argument("--onnx-dir", type=Path, default=None)
    args = p.parse_args(argv)
    setup_threads(args.threads)
    for spec in [s for s in args.models.split(",") if s]:
        kind, head = spec.split(":")
        bench_train(kind, head, args.batch, args.steps)
    if args.onnx_dir:
        bench_onnx(args.onnx_dir, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
