#!/usr/bin/env python3
"""Entry point for the training stages: ``/usr/bin/python3 training/run.py <stage> [stage args]``.

Stages:
  tokenizer          train the FSQ tokenizer, then export ONNX and evaluate on Kodak (train_tokenizer.py)
  export-tokenizer   ONNX export of encoder and decoder (export_tokenizer.py)
  eval-tokenizer     Kodak evaluation (eval_tokenizer.py)
  tokens             tokenize photo crops, caption images (+ BPE captions) and Kodak into cached grids (tokens.py)
  entropy-ar         train the autoregressive entropy model (train_entropy.py --model ar)
  entropy-masked     train the masked-token entropy model on the protocol's schedules (--model masked)
  entropy-text       train the text-conditional masked model (--model text)
  export-entropy     ONNX export of the three entropy models (export_entropy.py)
  eval-entropy       bits/token on held-out crops, Kodak and held-out captioned images (eval_entropy.py)
  scenes             render + tokenize procedural scenes, captions and QA as BPE ids (cloud_data.py)
  cloud              train the cloud model: text-conditional MaskGIT + VQA answers (train_cloud.py)
  scene-classifier   train the scene attribute classifier (our CLIP-T analogue) + ONNX (scene_classifier.py)
  export-cloud       ONNX export of the cloud model (export_cloud.py)
  all                every stage of the model pack in order (the arguments go to every stage)

``<stage> --help`` lists a stage's options. Runs go to ``${UNIMIC_RUNS:-~/.cache/unimic/runs}/<stage>``.

Before torch is imported the process re-executes itself with tcmalloc preloaded when the library is
installed (Debian: ``libtcmalloc-minimal4``): with glibc malloc every large tensor allocation is a fresh
mmap and page-faults, which made bf16 training here ~5x slower. Set ``UNIMIC_NO_TCMALLOC=1`` to skip.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

TCMALLOC_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
    "/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4",
    "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4",
)


def _maybe_reexec_with_tcmalloc() -> None:
    if os.environ.get("UNIMIC_NO_TCMALLOC") or "tcmalloc" in os.environ.get("LD_PRELOAD", ""):
        return
    lib = next((p for p in TCMALLOC_CANDIDATES if os.path.exists(p)), None)
    if lib is None:
        print("note: tcmalloc not found (apt-get install libtcmalloc-minimal4); CPU training will be slower",
              file=sys.stderr)
        return
    env = dict(os.environ)
    env["LD_PRELOAD"] = (lib + " " + env.get("LD_PRELOAD", "")).strip()
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


STAGES = {
    "tokenizer": "train_tokenizer",
    "export-tokenizer": "export_tokenizer",
    "eval-tokenizer": "eval_tokenizer",
    "tokens": "tokens",
    "entropy-ar": "train_entropy:ar",
    "entropy-masked": "train_entropy:masked",
    "entropy-text": "train_entropy:text",
    "export-entropy": "export_entropy",
    "eval-entropy": "eval_entropy",
    "scenes": "cloud_data",
    "cloud": "train_cloud",
    "scene-classifier": "scene_classifier",
    "export-cloud": "export_cloud",
}
PACK_ORDER = ["tokenizer", "tokens", "entropy-ar", "entropy-masked", "entropy-text", "export-entropy", "eval-entropy",
              "scenes", "cloud", "scene-classifier", "export-cloud"]


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(sys.argv) >= 2 else 2
    stage, rest = sys.argv[1], sys.argv[2:]
    if stage not in STAGES and stage != "all":
        print(f"unknown stage {stage!r}; stages: {', '.join(list(STAGES) + ['all'])}", file=sys.stderr)
        return 2
    _maybe_reexec_with_tcmalloc()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import importlib

    def run_stage(name: str, argv) -> int:
        module, _, model = STAGES[name].partition(":")
        return importlib.import_module(module).main((["--model", model] if model else []) + list(argv))

    if stage == "all":
        for s in PACK_ORDER:
            print(f"=== stage {s} ===", flush=True)
            rc = run_stage(s, rest)
            if rc:
                return rc
        return 0
    return run_stage(stage, rest)


if __name__ == "__main__":
    sys.exit(main())
