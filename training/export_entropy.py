"""Export the entropy models to ONNX (opset 17): a backbone and a head file per model.

    /usr/bin/python3 training/run.py export-entropy [--models ar,masked,text] [--out DIR] [--fp16-weights]

Default input: ``RUNS/entropy-<model>/model.pt`` (else ``best.pt``); default output ``RUNS/entropy-onnx``.
Per model ``<m>`` (ar, masked, text) two graphs:

``entropy_<m>_backbone.onnx``
    inputs  ``tokens`` int32 [N,256]: the 16x16 grid, raster order. masked/text: token ids of the
            positions already known, ``8192`` (MASK) elsewhere. ar: the grid itself; position i's
            output depends only on tokens < i (the model shifts internally), so a decoder may leave
            unknown positions at any valid id (e.g. 0).
            ``text`` int32 [N,32] (text model only): compact caption ids (``caption_vocab.json``:
            BPE r50k id -> 2 + index in ``bpe_ids``, unseen ids -> 1 = UNK), padded with 0 = PAD;
            captions longer than 32 ids are truncated. Always pass exactly 32.
    output  ``h`` float32 [N,256,256]: per-position features (after the final LayerNorm).

``entropy_<m>_head.onnx`` (factorized digit head)
    inputs  ``h`` float32 [N,P,256]: rows of the backbone output for the P positions to code
            ``digits`` int32 [N,P,5]: FSQ digits (d0..d4) of those tokens, d = id // (1024,128,16,4,1) % (8,8,8,4,4)
    outputs ``logits_d0``, ``logits_d1``, ``logits_d2`` float32 [N,P,8], ``logits_d3``, ``logits_d4`` [N,P,4]:
            logits of digit k given h and digits 0..k-1 (inputs digits k..4 are ignored for it).
    Encoder: one call with the true digits. Decoder: call k = 0..4 with the digits decoded so far
    (undecoded ones 0); logits_d<k> of call k equal the encoder's. Both sides must call with the same
    P (a stage's positions, for ar one position per call) so that the kernels see identical shapes.

``--head flat`` models (comparison only) export ``entropy_<m>_head.onnx`` with ``h`` -> ``logits``
float32 [N,P,8192].

Batch N and P are dynamic; 256 and 32 are fixed. ``--fp16-weights`` stores float initializers as
fp16 followed by a Cast to float32 (half the file, same fp32 compute after load). Each graph is
checked with ``onnx.checker`` (full) and strict shape inference; when ``onnxruntime`` is importable
(e.g. ``/tmp/ortvenv``) the outputs are compared with PyTorch fp32 and two bit-exactness properties
of the decoder protocol are checked (head: logits of digit k unchanged by digits >= k; ar backbone:
row i unchanged by tokens >= i). ``export.json`` lists files, sizes, sha256, tensors and checks.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import default_run_dir, write_json  # noqa: E402
from entropy_models import (BackboneExport, DigitHeadExport, EntropyConfig, EntropyModel,  # noqa: E402
                            FlatHeadExport, count_params, ids_to_digits)

OPSET = 17


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def find_checkpoint(kind: str) -> Path:
    rd = default_run_dir(f"entropy-{kind}")
    for name in ("model.pt", "best.pt"):
        if (rd / name).exists():
            return rd / name
    raise FileNotFoundError(f"no model.pt/best.pt in {rd}")


def load_entropy_model(path: Path) -> EntropyModel:
    state = torch.load(path, map_location="cpu")
    model = EntropyModel(EntropyConfig.from_dict(state["config"]))
    model.load_state_dict(state["model"])
    return model.eval().float()


def fp16_storage(path: Path, min_elems: int = 16) -> int:
    """Rewrite float initializers as fp16 + Cast(float). Returns the number converted."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    m = onnx.load(str(path))
    g = m.graph
    keep, casts, n = [], [], 0
    for init in g.initializer:
        arr = numpy_helper.to_array(init)
        if init.data_type == TensorProto.FLOAT and arr.size >= min_elems:
            half = numpy_helper.from_array(arr.astype(np.float16), init.name + "_fp16")
            keep.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT,
                                          name=init.name + "_cast"))
            n += 1
        else:
            keep.append(init)
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    onnx.save(m, str(path))
    return n


def check_onnx(path: Path) -> Dict:
    import onnx
    from onnx import shape_inference
    onnx.checker.check_model(str(path), full_check=True)
    m = onnx.load(str(path))
    inf = shape_inference.infer_shapes(m, strict_mode=True)

    def desc(vs):
        out = []
        for v in vs:
            t = v.type.tensor_type
            out.append({"name": v.name, "dtype": onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[t.elem_type].name,
                        "shape": [d.dim_param or d.dim_value for d in t.shape.dim]})
        return out
    return {"inputs": desc(inf.graph.input), "outputs": desc(inf.graph.output),
            "ops": sorted({n.op_type for n in m.graph.node})}


def _export(mod, args, path: Path, in_names, out_names, axes, out_shapes=None):
    tmp = path.with_name(path.name + ".tmp")
    with torch.no_grad():
        torch.onnx.export(mod, args, str(tmp), opset_version=OPSET, input_names=in_names, output_names=out_names,
                          dynamic_axes=axes, do_constant_folding=True)
    if out_shapes:
        # the exporter leaves reshaped dims symbolic (e.g. "LayerNormalizationh_dim_1"): pin the known ones
        import onnx
        m = onnx.load(str(tmp))
        for o in m.graph.output:
            if o.name in out_shapes:
                for dim, val in zip(o.type.tensor_type.shape.dim, out_shapes[o.name]):
                    if isinstance(val, int):
                        dim.ClearField("dim_param")
                        dim.dim_value = val
                    else:
                        dim.dim_param = val
        onnx.save(m, str(tmp))
    tmp.replace(path)


def ort_checks(model: EntropyModel, bb_path: Path, head_path: Path, log=print) -> Dict:
    try:
        import onnxruntime as ort
    except ImportError:
        return {"onnxruntime": "not available: numerical checks skipped"}
    cfg = model.cfg
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    bb = ort.InferenceSession(str(bb_path), so, providers=["CPUExecutionProvider"])
    hd = ort.InferenceSession(str(head_path), so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    N = 2
    tokens = rng.integers(0, cfg.vocab, size=(N, cfg.seq_len)).astype(np.int32)
    if cfg.kind != "ar":
        tokens[:, ::3] = cfg.mask_id
    feeds = {"tokens": tokens}
    text = None
    if cfg.kind == "text":
        text = rng.integers(2, cfg.text_vocab, size=(N, cfg.text_len)).astype(np.int32)
        text[:, 12:] = 0
        feeds["text"] = text
    h = bb.run(["h"], feeds)[0]
    with torch.no_grad():
        ht = model.features(torch.from_numpy(tokens).long(), None if text is None else torch.from_numpy(text).long())
    res = {"onnxruntime": ort.__version__, "backbone_max_abs_diff_vs_torch": float(np.abs(h - ht.numpy()).max())}
    P = 37
    hs = h[:, :P]
    ids = rng.integers(0, cfg.vocab, size=(N, P))
    if cfg.head == "digits":
        digits = ids_to_digits(torch.from_numpy(ids), cfg.levels).numpy().astype(np.int32)
        outs = hd.run(None, {"h": hs, "digits": digits})
        with torch.no_grad():
            ref = model.head(torch.from_numpy(hs), torch.from_numpy(digits).long())
        res["head_max_abs_diff_vs_torch"] = float(max(np.abs(o - r.numpy()).max() for o, r in zip(outs, ref)))
        # decoder protocol: call k with digits >= k zeroed must give identical logits_d<k>
        same = True
        for k in range(len(cfg.levels)):
            part = digits.copy()
            part[..., k:] = 0
            o = hd.run(None, {"h": hs, "digits": part})
            same &= bool(np.array_equal(o[k], outs[k]))
        res["head_digit_k_independent_of_later_digits_bitexact"] = same
    else:
        outs = hd.run(None, {"h": hs})
        with torch.no_grad():
            ref = model.head(torch.from_numpy(hs))
        res["head_max_abs_diff_vs_torch"] = float(np.abs(outs[0] - ref.numpy()).max())
    if cfg.kind == "ar":
        same = True
        for i in (0, 1, 100, 255):
            t2 = tokens.copy()
            t2[:, i:] = 0
            h2 = bb.run(["h"], {"tokens": t2})[0]
            same &= bool(np.array_equal(h2[:, i], h[:, i]))
        res["ar_row_i_independent_of_tokens_from_i_bitexact"] = same
    log(f"  onnxruntime {ort.__version__}: {res}")
    return res


def export_model(ckpt: Path, out_dir: Path, fp16_weights: bool, log=print) -> Dict:
    model = load_entropy_model(ckpt)
    cfg = model.cfg
    m = cfg.kind
    out_dir.mkdir(parents=True, exist_ok=True)
    N, S, d = 2, cfg.seq_len, cfg.d_model
    tokens = torch.randint(0, cfg.vocab, (N, S), dtype=torch.int32)
    bb = BackboneExport(model).eval()
    bb_path = out_dir / f"entropy_{m}_backbone.onnx"
    if m == "text":
        text = torch.randint(0, cfg.text_vocab, (N, cfg.text_len), dtype=torch.int32)
        _export(bb, (tokens, text), bb_path, ["tokens", "text"], ["h"],
                {"tokens": {0: "batch"}, "text": {0: "batch"}, "h": {0: "batch"}}, {"h": ["batch", S, d]})
    else:
        _export(bb, (tokens,), bb_path, ["tokens"], ["h"], {"tokens": {0: "batch"}, "h": {0: "batch"}},
                {"h": ["batch", S, d]})
    head_path = out_dir / f"entropy_{m}_head.onnx"
    h = torch.randn(N, 7, d)
    if cfg.head == "digits":
        digits = torch.zeros(N, 7, len(cfg.levels), dtype=torch.int32)
        outs = [f"logits_d{k}" for k in range(len(cfg.levels))]
        _export(DigitHeadExport(model).eval(), (h, digits), head_path, ["h", "digits"], outs,
                {"h": {0: "batch", 1: "positions"}, "digits": {0: "batch", 1: "positions"},
                 **{o: {0: "batch", 1: "positions"} for o in outs}})
    else:
        _export(FlatHeadExport(model).eval(), (h,), head_path, ["h"], ["logits"],
                {"h": {0: "batch", 1: "positions"}, "logits": {0: "batch", 1: "positions"}})
    info = {"kind": m, "checkpoint": str(ckpt), "config": cfg.to_dict(), "params": count_params(model),
            "params_head": count_params(model.head), "files": {}}
    for part, path in (("backbone", bb_path), ("head", head_path)):
        if fp16_weights:
            info.setdefault("fp16_initializers", {})[part] = fp16_storage(path)
        chk = check_onnx(path)
        info["files"][part] = {"file": path.name, "bytes": path.stat().st_size, "sha256": sha256(path), **chk}
        log(f"  {path.name}: {path.stat().st_size / 1e6:.2f} MB, inputs "
            f"{[(t['name'], t['dtype'], t['shape']) for t in chk['inputs']]}, outputs "
            f"{[(t['name'], t['dtype'], t['shape']) for t in chk['outputs']]}")
    info["checks"] = ort_checks(model, bb_path, head_path, log)
    return info


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="run.py export-entropy", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="ar,masked,text")
    p.add_argument("--ckpt", action="append", default=[], help="MODEL=PATH (default RUNS/entropy-MODEL/model.pt)")
    p.add_argument("--out", type=Path, default=None, help="default RUNS/entropy-onnx")
    p.add_argument("--fp16-weights", action="store_true", help="store weights as fp16 (+ Cast to float32)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    out = (args.out or default_run_dir("entropy-onnx")).expanduser()
    paths = dict(kv.split("=", 1) for kv in args.ckpt)
    result = {"opset": OPSET, "fp16_weights": args.fp16_weights, "models": {}}
    if (out / "export.json").exists():  # keep the entries of models not exported this time
        prev = json.loads((out / "export.json").read_text())
        if prev.get("fp16_weights") == args.fp16_weights:
            result["models"].update(prev.get("models", {}))
    rc = 0
    for m in [s.strip() for s in args.models.split(",") if s.strip()]:
        try:
            ckpt = Path(paths[m]) if m in paths else find_checkpoint(m)
        except FileNotFoundError as e:
            print(f"skip {m}: {e}")
            rc = 1
            continue
        print(f"export {m} from {ckpt}")
        result["models"][m] = export_model(ckpt, out, args.fp16_weights)
    tok_dir = default_run_dir("tokens")
    if (tok_dir / "photos_train.npy").exists():
        # the static model: unigram counts of the training tokens (the same as eval-entropy's baseline)
        grids = [np.load(tok_dir / f"{n}.npy").reshape(-1) for n in ("photos_train", "captions_train")
                 if (tok_dir / f"{n}.npy").exists()]
        counts = np.bincount(np.concatenate(grids).astype(np.int64), minlength=8192)
        write_json(out / "static_unigram.json", {
            "codebook_size": 8192, "smoothing": "add-one: p(id) = (counts[id] + 1) / (total + 8192)",
            "total": int(counts.sum()), "source": "photos_train + captions_train token grids (tokens.py)",
            "counts": [int(c) for c in counts]})
        result["static_unigram"] = {"file": "static_unigram.json", "sha256": sha256(out / "static_unigram.json")}
    vocab = tok_dir / "caption_vocab.json"
    if "text" in result["models"] and vocab.exists():
        (out / "caption_vocab.json").write_bytes(vocab.read_bytes())
        result["caption_vocab"] = {"file": "caption_vocab.json", "sha256": sha256(out / "caption_vocab.json")}
    write_json(out / "export.json", result)
    print(f"wrote {out / 'export.json'}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
