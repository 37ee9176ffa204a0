"""Export the cloud model to ONNX (stage ``export-cloud``, opset 17): a backbone and an image head.

    /usr/bin/python3 training/run.py export-cloud [--ckpt RUNS/cloud/model.pt] [--out RUNS/cloud-onnx] [--fp16-weights]

Default input ``RUNS/cloud/model.pt`` (else ``best.pt``), output ``RUNS/cloud-onnx``. I/O contract
(the TypeScript generator drives these; see ``cloud_model.py`` for the sequence layout and masks):

``cloud_backbone.onnx``
    inputs  ``text``   int32 [N,32]: prompt. Text-to-image / inpainting / outpainting: caption ids, or all
                       0 (PAD) for no prompt. VQA: the question. Compact ids of ``cloud_vocab.json``
                       (bpeEncode(text) -> 4 + index in ``bpe_ids``, unknown -> 1 UNK), truncated to 32,
                       PAD (0) after the text. Always pass exactly 32.
            ``tokens`` int32 [N,256]: the 16x16 grid in raster order; ids 0..8191, ``8192`` = MASK
                       (unknown / to generate).
            ``answer`` int32 [N,8]: answer slot: ``[3 (ANS), a_0, a_1, ..]``, PAD (0) after; for image
                       tasks pass ``[3, 0, 0, 0, 0, 0, 0, 0]`` (image outputs do not depend on it).
    outputs ``h``      float32 [N,256,d]: image-position features (input of the image head).
            ``answer_logits`` float32 [N,8,V_text]: row j = logits of the answer token after answer
                       inputs 0..j (row 0: the first answer token). Decode: greedy or sampled until
                       EOS (2) or 7 tokens; map ids >= 4 back to BPE (``bpe_ids[id - 4]``) and bpeDecode.
``cloud_image_head.onnx``
    inputs  ``h``      float32 [N,P,d]: rows of ``h`` (e.g. the P still-masked positions, or all 256)
    outputs ``logits`` float32 [N,P,8192]: logits over the codebook for those positions.

MaskGIT loop (``cloud_model.maskgit_generate`` is the Python reference): M = masked positions at the
start; each step runs backbone + head, samples a token for every masked position (temperature,
Gumbel noise from a seeded PRNG), scores it by its log-probability, and commits the most confident
ones so that ``floor(M * cos(pi/2 * (k+1)/K))`` stay masked after step k of K (all committed at the last).
Batch N and P are dynamic, 32/256/8 are fixed. ``--fp16-weights`` stores initializers as fp16 + Cast.

Checks: ``onnx.checker`` (full) and strict shape inference; ONNX vs PyTorch (fp32) on random inputs with
onnxruntime (Python, if importable) or onnxruntime-node (``verify_onnx_node.mjs``, when ``node`` and the
repository's ``node_modules`` are there). ``export.json`` lists files, sizes, sha256, tensors, checks,
the special ids and the scene vocabulary; ``cloud_vocab.json`` is copied next to the graphs.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cloud_model import ANS, EOS, PAD, UNK, CloudConfig, CloudModel, count_params  # noqa: E402
from common import REPO_ROOT, default_run_dir, write_json  # noqa: E402
from export_entropy import OPSET, _export, check_onnx, fp16_storage, sha256  # noqa: E402


class BackboneExport(nn.Module):
    def __init__(self, model: CloudModel):
        super().__init__()
        self.m = model

    def forward(self, text, tokens, answer):
        h, ha = self.m.features(text.long(), tokens.long(), answer.long())
        return h, self.m.answer_logits(ha)


class HeadExport(nn.Module):
    def __init__(self, model: CloudModel):
        super().__init__()
        self.m = model

    def forward(self, h):
        return self.m.image_logits(h)


def load_cloud_model(path: Path) -> CloudModel:
    state = torch.load(path, map_location="cpu")
    model = CloudModel(CloudConfig.from_dict(state["config"]))
    model.load_state_dict(state["model"])
    return model.eval().float()


def checkpoint_provenance(ckpt: Path) -> Dict:
    """What the pack says about its weights: the exported checkpoint's own step and validation (best.pt,
    model.pt and ckpt.pt all carry a step), and the run's arguments from the run's resumable checkpoint."""
    state = torch.load(ckpt, map_location="cpu")
    out: Dict = {"step": state.get("step")}
    val = state.get("val") or (state.get("history") or [None])[-1]
    if val is not None:
        out["val"] = val
    if state.get("train_seconds") is not None:
        out["train_seconds"] = state["train_seconds"]
    run_ckpt = default_run_dir("cloud") / "ckpt.pt"
    run_args = state.get("args") or (torch.load(run_ckpt, map_location="cpu").get("args") if run_ckpt.exists() else None)
    if run_args is not None:
        out["args"] = run_args
    return out


def find_checkpoint() -> Path:
    rd = default_run_dir("cloud")
    for name in ("model.pt", "best.pt"):
        if (rd / name).exists():
            return rd / name
    raise FileNotFoundError(f"no model.pt/best.pt in {rd}")


def write_fixture(folder: Path, entries: List[Dict]) -> Path:
    """Raw little-endian inputs/outputs + manifest.json for verify_onnx_node.mjs."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = []
    for e in entries:
        ins, outs = [], []
        for name, arr in e["inputs"].items():
            f = f"{Path(e['model']).stem}.in.{name}.bin"
            arr.tofile(folder / f)
            ins.append({"name": name, "dtype": str(arr.dtype), "shape": list(arr.shape), "file": f})
        for name, arr in e["outputs"].items():
            f = f"{Path(e['model']).stem}.out.{name}.bin"
            arr.astype(np.float32).tofile(folder / f)
            outs.append({"name": name, "shape": list(arr.shape), "file": f})
        manifest.append({"model": str(e["model"]), "inputs": ins, "outputs": outs})
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return folder


def verify_runtime(entries: List[Dict], fixture_dir: Path, log=print) -> Dict:
    """Compare ONNX with PyTorch: Python onnxruntime if importable, else onnxruntime-node."""
    try:
        import onnxruntime as ort
        res = {"runtime": f"onnxruntime {ort.__version__} (python)", "max_abs_diff": {}}
        for e in entries:
            so = ort.SessionOptions()
            so.intra_op_num_threads = 1
            s = ort.InferenceSession(str(e["model"]), so, providers=["CPUExecutionProvider"])
            outs = s.run(list(e["outputs"]), e["inputs"])
            res["max_abs_diff"][Path(e["model"]).name] = {
                k: float(np.abs(o - r).max()) for (k, r), o in zip(e["outputs"].items(), outs)}
        return res
    except ImportError:
        pass
    script = Path(__file__).resolve().parent / "verify_onnx_node.mjs"
    if shutil.which("node") is None or not (REPO_ROOT / "node_modules" / "onnxruntime-node").exists():
        return {"runtime": "none available (no Python onnxruntime, no node + node_modules/onnxruntime-node): "
                           "numerical check skipped"}
    write_fixture(fixture_dir, entries)
    proc = subprocess.run(["node", str(script), str(fixture_dir)], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        return {"runtime": "onnxruntime-node", "error": proc.stderr[-1500:]}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    shutil.rmtree(fixture_dir, ignore_errors=True)
    return {"runtime": f"onnxruntime-node {out.get('onnxruntime_node')}",
            "max_abs_diff": {k: v["max_abs_diff"] for k, v in out["results"].items()},
            "run_ms_1_thread": {k: v["run_ms"] for k, v in out["results"].items()}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="run.py export-cloud", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", type=Path, default=None, help="default RUNS/cloud/model.pt, else best.pt")
    p.add_argument("--out", type=Path, default=None, help="default RUNS/cloud-onnx")
    p.add_argument("--scenes-dir", type=Path, default=None, help="for cloud_vocab.json + meta (default RUNS/scenes)")
    p.add_argument("--fp16-weights", action="store_true", help="store weights as fp16 (+ Cast to float32)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    ckpt = (args.ckpt or find_checkpoint()).expanduser().resolve()
    out = (args.out or default_run_dir("cloud-onnx")).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    scenes_dir = (args.scenes_dir or default_run_dir("scenes")).expanduser().resolve()
    model = load_cloud_model(ckpt)
    cfg = model.cfg
    T, S, A, d = cfg.text_len, cfg.seq_len, cfg.answer_len, cfg.d_model
    print(f"export {ckpt}: {count_params(model) / 1e6:.2f} M params -> {out}")

    N = 2
    text = torch.zeros(N, T, dtype=torch.int32)
    text[:, :5] = torch.randint(4, cfg.text_vocab, (N, 5), dtype=torch.int32)
    tokens = torch.randint(0, cfg.vocab + 1, (N, S), dtype=torch.int32)
    answer = torch.zeros(N, A, dtype=torch.int32)
    answer[:, 0] = ANS
    bb_path, hd_path = out / "cloud_backbone.onnx", out / "cloud_image_head.onnx"
    _export(BackboneExport(model).eval(), (text, tokens, answer), bb_path, ["text", "tokens", "answer"],
            ["h", "answer_logits"],
            {"text": {0: "batch"}, "tokens": {0: "batch"}, "answer": {0: "batch"}, "h": {0: "batch"},
             "answer_logits": {0: "batch"}},
            {"h": ["batch", S, d], "answer_logits": ["batch", A, cfg.text_vocab]})
    _export(HeadExport(model).eval(), (torch.randn(N, 7, d),), hd_path, ["h"], ["logits"],
            {"h": {0: "batch", 1: "positions"}, "logits": {0: "batch", 1: "positions"}},
            {"logits": ["batch", "positions", cfg.vocab]})
    info: Dict = {"opset": OPSET, "checkpoint": str(ckpt), "config": cfg.to_dict(), "params": count_params(model),
                  "fp16_weights": args.fp16_weights, "files": {}, "training": checkpoint_provenance(ckpt)}
    for part, path in (("backbone", bb_path), ("image_head", hd_path)):
        if args.fp16_weights:
            info.setdefault("fp16_initializers", {})[part] = fp16_storage(path)
        chk = check_onnx(path)
        info["files"][part] = {"file": path.name, "bytes": path.stat().st_size, "sha256": sha256(path), **chk}
        print(f"  {path.name}: {path.stat().st_size / 1e6:.2f} MB, inputs "
              f"{[(t['name'], t['dtype'], t['shape']) for t in chk['inputs']]}, outputs "
              f"{[(t['name'], t['dtype'], t['shape']) for t in chk['outputs']]}")
    info["total_bytes"] = sum(f["bytes"] for f in info["files"].values())

    # numerical check on fresh random inputs (one prompt empty, one answer prefix of two tokens)
    rng = np.random.default_rng(0)
    t_np = np.zeros((N, T), np.int32)
    t_np[0, :9] = rng.integers(4, cfg.text_vocab, 9)
    tok_np = rng.integers(0, cfg.vocab, (N, S)).astype(np.int32)
    tok_np[rng.random((N, S)) < 0.5] = cfg.mask_id
    a_np = np.zeros((N, A), np.int32)
    a_np[:, 0] = ANS
    a_np[1, 1:3] = rng.integers(4, cfg.text_vocab, 2)
    with torch.no_grad():
        h_ref, al_ref = BackboneExport(model)(torch.from_numpy(t_np), torch.from_numpy(tok_np), torch.from_numpy(a_np))
        h_sel = h_ref[:, :37].contiguous()
        lg_ref = HeadExport(model)(h_sel)
    entries = [{"model": bb_path, "inputs": {"text": t_np, "tokens": tok_np, "answer": a_np},
                "outputs": {"h": h_ref.numpy(), "answer_logits": al_ref.numpy()}},
               {"model": hd_path, "inputs": {"h": h_sel.numpy()}, "outputs": {"logits": lg_ref.numpy()}}]
    info["checks"] = verify_runtime(entries, out / "verify_fixture")
    # the answer slot must not change the image outputs (torch; exact by construction of the mask)
    with torch.no_grad():
        a2 = a_np.copy()
        a2[:, 1:] = rng.integers(4, cfg.text_vocab, (N, A - 1))
        h2, _ = BackboneExport(model)(torch.from_numpy(t_np), torch.from_numpy(tok_np), torch.from_numpy(a2))
    info["checks"]["image_features_independent_of_answer_slot_max_abs_diff"] = float((h2 - h_ref).abs().max())
    print(f"  checks: {info['checks']}")

    vocab_src = scenes_dir / "cloud_vocab.json"
    if vocab_src.exists():
        shutil.copyfile(vocab_src, out / "cloud_vocab.json")
        info["vocab"] = {"file": "cloud_vocab.json", "sha256": sha256(out / "cloud_vocab.json")}
    meta_path = scenes_dir / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        info["scenes"] = {k: meta.get(k) for k in ("answers", "scene_spec", "vqa_baselines", "text")}
    info["special_ids"] = {"text": {"pad": PAD, "unk": UNK, "eos": EOS, "ans": ANS, "first_bpe": 4},
                           "image": {"mask": cfg.mask_id, "codebook": cfg.vocab}}
    info["contract"] = {
        "layout": f"[prompt {T}; image {S}; answer {A}]",
        "attention": "prompt causal; image sees non-PAD prompt + all image; answer sees non-PAD prompt + image + "
                     "answer causally",
        "token_id": "FSQ levels (8,8,8,4,4), id = d0*1024 + d1*128 + d2*16 + d3*4 + d4; MASK = 8192",
        "maskgit": "cosine schedule: after step k of K, floor(M*cos(pi/2*(k+1)/K)) positions stay masked; commit "
                   "the most confident sampled tokens (confidence = log p of the sampled token)",
        "answer": "answer input [ANS, a_0..a_{k-1}, PAD..]; answer_logits[:, k] predicts a_k; stop at EOS (2)"}
    write_json(out / "export.json", info)
    print(f"wrote {out / 'export.json'} ({info['total_bytes'] / 1e6:.2f} MB of ONNX)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
