"""Assemble a model pack (manifest.json + ONNX files) from exported stages.

    /usr/bin/python3 training/pack.py --tokenizer RUN/onnx [--eval RUN/eval_kodak.json] --out models/default

The manifest follows docs/models.md (format unimic-pack/1); every file is listed with its size and
sha256, which the TypeScript loader verifies before use.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def entry(role: str, src: Path, out: Path, spec: dict, runtime: str) -> dict:
    dst = out / spec["file"]
    shutil.copyfile(src / spec["file"], dst)
    return {
        "role": role,
        "file": spec["file"],
        "sha256": sha256(dst),
        "bytes": dst.stat().st_size,
        "runtime": runtime,
        "inputs": spec["inputs"],
        "outputs": spec["outputs"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", type=Path, required=True, help="folder with export.json, encoder.onnx, decoder.onnx")
    ap.add_argument("--eval", type=Path, help="eval_kodak.json of the tokenizer run")
    ap.add_argument("--id", default="default-128-fsq8192")
    ap.add_argument("--out", type=Path, default=Path("models/default"))
    args = ap.parse_args()

    exp = json.loads((args.tokenizer / "export.json").read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    size = exp["image_size"]
    models = [
        entry("tokenizer.encoder", args.tokenizer, args.out, exp["files"]["encoder"], "any"),
        entry("tokenizer.decoder", args.tokenizer, args.out, exp["files"]["decoder"], "any"),
    ]
    training = {"tokenizer": {"config": exp["config"], "token_id": exp["token_id"], "data": "shared/data/photos (041-044 held out)"}}
    if args.eval and args.eval.exists():
        training["tokenizer"]["kodak"] = json.loads(args.eval.read_text())
    manifest = {
        "format": "unimic-pack/1",
        "id": args.id,
        "image": {"width": size, "height": size, "downsample": size // exp["grid"][0]},
        "codebook": {"size": exp["codebook_size"], "kind": "fsq", "levels": exp["config"]["levels"]},
        "models": models,
        "training": training,
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    total = sum(m["bytes"] for m in models)
    print(f"wrote {args.out}/manifest.json: {len(models)} models, {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
