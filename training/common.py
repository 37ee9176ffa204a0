"""Shared helpers for the UniMIC-RTC training stages.

Seeding, device/thread choice, run directories, a logger that tees to ``train.log``,
a progress printer with throughput and ETA, and atomic checkpoints with resume.
Only the standard library and torch are used.
"""
from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
import torch

TRAINING_DIR = Path(__file__).resolve().parent
REPO_ROOT = TRAINING_DIR.parent
# ../shared/data relative to the repository root (the layout of this workplace); override by CLI flags.
DEFAULT_DATA_ROOT = (REPO_ROOT / ".." / "shared" / "data").resolve()


def default_runs_root() -> Path:
    """``$UNIMIC_RUNS`` or ``~/.cache/unimic/runs``: outside the git tree, survives a fresh checkout."""
    env = os.environ.get("UNIMIC_RUNS")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "unimic" / "runs"


def default_run_dir(stage: str) -> Path:
    return default_runs_root() / stage


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def step_rng(seed: int, step: int, stream: int = 0) -> np.random.Generator:
    """A generator that depends only on (seed, step, stream): data order is reproducible across resumes."""
    return np.random.default_rng([seed, stream, step])


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


_INTEROP_SET = False


def setup_threads(n: int) -> None:
    # Debian's torch starts with a single intra-op thread.
    global _INTEROP_SET
    torch.set_num_threads(max(1, n))
    if not _INTEROP_SET:
        # Allowed once per process and only before any parallel work; a second call aborts the
        # process (c10::Error, not a Python exception), hence the guard.
        _INTEROP_SET = True
        torch.set_num_interop_threads(1)


def autocast_ctx(device: torch.device, enabled: bool = True):
    """bf16 autocast on CPU (AMX/AVX512-BF16 kernels) and on CUDA."""
    if not enabled:
        return torch.autocast(device_type=device.type, enabled=False)
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


class Logger:
    """Prints to stdout and appends to ``<run_dir>/train.log`` (flushed per line)."""

    def __init__(self, run_dir: Path, name: str = "train.log"):
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / name
        self._f = open(self.path, "a", buffering=1, encoding="utf-8")

    def __call__(self, *parts: Any) -> None:
        line = " ".join(str(p) for p in parts)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        msg = f"[{stamp}] {line}"
        print(msg, flush=True)
        self._f.write(msg + "\n")

    def close(self) -> None:
        self._f.close()


def fmt_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


class Progress:
    """Throughput over a sliding window of steps and an ETA to ``total_steps``."""

    def __init__(self, total_steps: int, start_step: int, items_per_step: int, window: int = 50):
        self.total = total_steps
        self.items = items_per_step
        self.window = window
        self.times = [(start_step, time.perf_counter())]

    def update(self, step: int) -> None:
        self.times.append((step, time.perf_counter()))
        if len(self.times) > self.window + 1:
            self.times = self.times[-(self.window + 1):]

    def rate_steps(self) -> float:
        (s0, t0), (s1, t1) = self.times[0], self.times[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 and s1 > s0 else 0.0

    def items_per_sec(self) -> float:
        return self.rate_steps() * self.items

    def eta(self, step: int) -> float:
        r = self.rate_steps()
        return (self.total - step) / r if r > 0 else float("nan")

    def line(self, step: int) -> str:
        eta = self.eta(step)
        eta_s = fmt_duration(eta) if eta == eta else "?"
        finish = time.strftime("%H:%M", time.localtime(time.time() + eta)) if eta == eta else "?"
        pct = 100.0 * step / max(1, self.total)
        return f"step {step}/{self.total} ({pct:.1f}%) {self.items_per_sec():.1f} img/s eta {eta_s} (~{finish})"


def save_checkpoint(path: Path, state: Dict[str, Any]) -> None:
    """Atomic: write ``<path>.tmp``, fsync, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> Optional[Dict[str, Any]]:
    if not path.exists():
        return None
    return torch.load(path, map_location=map_location)


def write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


def psnr_from_mse(mse: float, peak: float = 1.0) -> float:
    if mse <= 0:
        return float("inf")
    return 10.0 * float(np.log10(peak * peak / mse))


def env_info() -> Dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
    }
