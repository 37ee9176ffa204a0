"""Assemble a model pack (manifest.json + ONNX files) from exported stages.

    /usr/bin/python3 training/pack.py --tokenizer RUN/onnx [--eval RUN/eval_kodak.json] \
        [--entropy RUNS/entropy-onnx [--entropy-eval RUNS/entropy-eval/eval.json]] --out models/default

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


ENTROPY_ROLES = {"ar": "entropy.autoregressive", "masked": "entropy.masked", "text": "entropy.text"}
# Entropy models must run where both peers get identical floats: the pinned onnxruntime-web wasm.
ENTROPY_RUNTIME = "onnxruntime-web-wasm@1.30.0"


def asset(role: str, src: Path, out: Path, name: str) -> dict:
    dst = out / name
    shutil.copyfile(src / name, dst)
    return {"role": role, "file": name, "sha256": sha256(dst), "bytes": dst.stat().st_size}


def write_manifest(out: Path, pack_id: str, image: dict, codebook: dict, models: list, assets: list, training: dict) -> None:
    """manifest.json in the format docs/models.md describes (unimic-pack/1), and a one-line summary."""
    manifest = {"format": "unimic-pack/1", "id": pack_id, "image": image, "codebook": codebook,
                "models": models, "assets": assets, "training": training}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    total = sum(m["bytes"] for m in models + assets)
    print(f"wrote {out}/manifest.json: {len(models)} models, {len(assets)} assets, {total / 1e6:.2f} MB")


def tensor_specs(ts: list) -> list:
    return [{"name": t["name"], "dtype": t["dtype"], "shape": t["shape"]} for t in ts]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", type=Path, required=True, help="folder with export.json, encoder.onnx, decoder.onnx")
    ap.add_argument("--eval", type=Path, help="eval_kodak.json of the tokenizer run")
    ap.add_argument("--entropy", type=Path, help="folder with the entropy models' export.json (export_entropy.py)")
    ap.add_argument("--entropy-eval", type=Path, help="eval.json of eval_entropy.py (rates, for the manifest)")
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
    assets = []
    if args.entropy:
        ex = json.loads((args.entropy / "export.json").read_text())
        for kind, info in ex["models"].items():
            for part in ("backbone", "head"):
                f = info["files"][part]
                spec = {"file": f["file"], "inputs": tensor_specs(f["inputs"]), "outputs": tensor_specs(f["outputs"])}
                models.append(entry(f"{ENTROPY_ROLES[kind]}.{part}", args.entropy, args.out, spec, ENTROPY_RUNTIME))
            training[f"entropy.{kind}"] = {"config": info["config"], "params": info["params"], "checkpoint": Path(info["checkpoint"]).name}
        if "static_unigram" in ex:
            assets.append(asset("entropy.static.counts", args.entropy, args.out, ex["static_unigram"]["file"]))
        if "caption_vocab" in ex:
            assets.append(asset("entropy.text.vocab", args.entropy, args.out, ex["caption_vocab"]["file"]))
        if args.entropy_eval and args.entropy_eval.exists():
            training["entropy_eval"] = json.loads(args.entropy_eval.read_text())
    image = {"width": size, "height": size, "downsample": size // exp["grid"][0]}
    codebook = {"size": exp["codebook_size"], "kind": "fsq", "levels": exp["config"]["levels"]}
    write_manifest(args.out, args.id, image, codebook, models, assets, training)


if __name__ == "__main__":
    main()
