"""Export the tokenizer's encoder and decoder as two ONNX models (opset 17, fp32 weights).

    /usr/bin/python3 training/run.py export-tokenizer [--ckpt RUN/tokenizer.pt] [--out RUN/onnx]

encoder.onnx: input ``image``  float32 [N,3,H,W], RGB in [0,1], H and W multiples of 8
              output ``tokens`` int32  [N,H/8,W/8], ids in [0,8192) (see tokenizer.py for the id layout)
decoder.onnx: input ``tokens`` int32  [N,h,w]
              output ``image`` float32 [N,3,8h,8w], RGB in [0,1] (clamped)
Batch and spatial axes are dynamic; the model is trained and shipped for 128x128 (a 16x16 grid).

Each graph is checked with ``onnx.checker`` (full check, with strict shape inference) and its inferred
output shape is compared with PyTorch's. onnxruntime is not available for this Python; numerical
agreement is verified on the TypeScript side (onnxruntime-node). ``export.json`` lists files, sizes,
sha256, names, shapes and dtypes.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import default_run_dir, write_json  # noqa: E402
from tokenizer import DecoderExport, EncoderExport, Tokenizer, TokenizerConfig, count_params  # noqa: E402

OPSET = 17


def load_tokenizer(path: Path) -> Tokenizer:
    state = torch.load(path, map_location="cpu")
    model = Tokenizer(TokenizerConfig.from_dict(state["config"]))
    model.load_state_dict(state["model"])
    return model.eval().float()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _onnx_check(path: Path, expect_shape, log=print):
    import onnx
    from onnx import shape_inference
    onnx.checker.check_model(str(path), full_check=True)
    m = onnx.load(str(path))
    inferred = shape_inference.infer_shapes(m, strict_mode=True)
    out = inferred.graph.output[0]
    dims = [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim]
    ops = sorted({n.op_type for n in m.graph.node})
    log(f"  {path.name}: onnx.checker ok, opset {m.opset_import[0].version}, output {out.name} dims {dims} "
        f"(torch {list(expect_shape)}), ops {ops}")
    return dims, ops


def export(ckpt: Path, out_dir: Path, log=print) -> dict:
    model = load_tokenizer(ckpt)
    cfg = model.cfg
    out_dir.mkdir(parents=True, exist_ok=True)
    s, ds = cfg.image_size, cfg.downsample
    g = s // ds
    enc = EncoderExport(model).eval()
    dec = DecoderExport(model).eval()
    image = torch.rand(1, 3, s, s)
    with torch.no_grad():
        tokens = enc(image)
        recon = dec(tokens)
        ref_tokens = model.encode(image)
    assert tokens.dtype == torch.int32 and tuple(tokens.shape) == (1, g, g)
    mismatch = int((tokens.long() != ref_tokens).sum())

    files = {}
    specs = {
        "encoder": (enc, (image,), ["image"], ["tokens"],
                    {"image": {0: "batch", 2: "height", 3: "width"}, "tokens": {0: "batch", 1: "rows", 2: "cols"}},
                    tokens.shape),
        "decoder": (dec, (tokens,), ["tokens"], ["image"],
                    {"tokens": {0: "batch", 1: "rows", 2: "cols"}, "image": {0: "batch", 2: "height", 3: "width"}},
                    recon.shape),
    }
    for name, (mod, inputs, in_names, out_names, axes, shape) in specs.items():
        path = out_dir / f"{name}.onnx"
        tmp = out_dir / f"{name}.onnx.tmp"
        torch.onnx.export(mod, inputs, str(tmp), opset_version=OPSET, input_names=in_names,
                          output_names=out_names, dynamic_axes=axes, do_constant_folding=True)
        tmp.replace(path)
        dims, ops = _onnx_check(path, shape, log)
        files[name] = {
            "file": path.name, "bytes": path.stat().st_size, "sha256": _sha256(path), "ops": ops,
            "params": count_params(mod),
            "inputs": [{"name": in_names[0], "dtype": "float32" if name == "encoder" else "int32",
                        "shape": ["N", 3, "H", "W"] if name == "encoder" else ["N", "H/8", "W/8"]}],
            "outputs": [{"name": out_names[0], "dtype": "int32" if name == "encoder" else "float32",
                         "shape": ["N", "H/8", "W/8"] if name == "encoder" else ["N", 3, "8h", "8w"]}],
            "inferred_output_dims": [str(d) for d in dims],
        }
    info = {"opset": OPSET, "checkpoint": str(ckpt), "config": cfg.to_dict(), "image_size": s, "grid": [g, g],
            "codebook_size": cfg.codebook_size,
            "token_id": "mixed radix of FSQ digits d_i in [0,L_i), first digit most significant; "
                        "latent value (d_i - L_i//2)/(L_i//2)",
            "torch_vs_export_token_mismatch": mismatch, "files": files}
    write_json(out_dir / "export.json", info)
    for name, f in files.items():
        log(f"  {name}.onnx {f['bytes'] / 1e6:.2f} MB fp32, {f['params'] / 1e6:.2f} M params")
    return info


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="run.py export-tokenizer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", type=Path, default=None)
    p.add_argument("--ckpt", type=Path, default=None, help="default <run-dir>/tokenizer.pt")
    p.add_argument("--out", type=Path, default=None, help="default <run-dir>/onnx")
    args = p.parse_args(argv)
    run_dir = (args.run_dir or default_run_dir("tokenizer")).expanduser()
    export(args.ckpt or run_dir / "tokenizer.pt", args.out or run_dir / "onnx")
    return 0


if __name__ == "__main__":
    sys.exit(main())
